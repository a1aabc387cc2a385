# The same predecessor listed twice: the inputs of a pick are distinct.
space picks

network net(x: [8, 8, 8]) -> [8, 8, 8] {
  s0 = x >> conv(8, k=1)
  s1 = x >> conv(8, k=3, pad=1)
  pick inputs: 2 of [s0, s1, s0]
  return inputs[0] + inputs[1]
}
