# A DARTS-style node that picks more inputs than there are candidates.
space picks

network net(x: [8, 8, 8]) -> [8, 8, 8] {
  s0 = x >> conv(8, k=1)
  s1 = x >> conv(8, k=3, pad=1)
  pick inputs: 3 of [s0, s1]
  return inputs[0] + inputs[1]
}
