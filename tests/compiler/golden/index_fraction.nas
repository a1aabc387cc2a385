space stack

network classifier(x: [8, 8, 8]) -> [10] {
  c[0] = x
  for i in range(1, 4) {
    c[i] = c[i / 2] >> conv(8, k=3, pad=1) >> relu
  }
  return c[3] >> global_avg_pool >> linear(10)
}
