# Dividing a size by a gene cannot be written as one shape for every size; dividing by zero at an option is refused.
options Pool[C, H, W](s): [C, H, W] -> [C, H // s, W // s] {
  avg = avg_pool(2)
}

network net(x: [1, 8, 8]) -> [2] {
  param s: [1, 2]
  param d: [0, 2]
  slot p: Pool(s)
  h = x >> p >> flatten >> linear(64 // d)
  return h >> linear(2)
}
