space stack

const N = 4

network classifier(x: [8, 8, 8]) -> [10] {
  c[0] = x
  for i in range(N, 1) {
    c[i] = c[i - 1] >> conv(8, k=3, pad=1) >> relu
  }
  return c[0] >> global_avg_pool >> linear(10)
}
