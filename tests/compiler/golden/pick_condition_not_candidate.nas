# A condition on the chosen input names a node that is not a candidate of the pick.
space picks

network net(x: [8, 8, 8]) -> [8, 8, 8] {
  s0 = x >> conv(8, k=1)
  s1 = x >> conv(8, k=3, pad=1)
  n0 = s0 + s1
  pick inputs: 2 of [s0, s1, n0]
  y = inputs[0] >> max_pool(k=3, stride=1, pad=1) if inputs[0] in [s0, s2] else inputs[0]
  return y + inputs[1]
}
