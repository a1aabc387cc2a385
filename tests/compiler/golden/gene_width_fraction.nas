# A width computed from a gene is not a whole number for one of its options.
network net(x: [4]) -> [2] {
  param w: [4, 5, 6]
  h = x >> linear(w / 2) >> relu
  return h >> linear(2)
}
