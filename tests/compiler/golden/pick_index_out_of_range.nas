# `inputs[2]` of a pick that chooses two inputs (positions 0 and 1).
space picks

network net(x: [8, 8, 8]) -> [8, 8, 8] {
  s0 = x >> conv(8, k=1)
  s1 = x >> conv(8, k=3, pad=1)
  n0 = s0 + s1
  pick inputs: 2 of [s0, s1, n0]
  return inputs[1] + inputs[2]
}
