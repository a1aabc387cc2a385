# A constant among the candidates of a pick: candidates are tensors (nodes).
space picks

const width = 8

network net(x: [8, 8, 8]) -> [8, 8, 8] {
  s0 = x >> conv(width, k=1)
  s1 = x >> conv(width, k=3, pad=1)
  pick inputs: 2 of [s0, s1, width]
  return inputs[0] + inputs[1]
}
