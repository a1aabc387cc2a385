space stack

network classifier(x: [8, 8, 8]) -> [10] {
  param depth: [2, 3, 4]
  c[0] = x
  for i in range(1, depth) {
    c[i] = c[i - 1] >> conv(8, k=3, pad=1) >> relu
  }
  return c[1] >> global_avg_pool >> linear(10)
}
