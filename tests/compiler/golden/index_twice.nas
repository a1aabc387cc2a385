space stack

const N = 3

network classifier(x: [8, 8, 8]) -> [10] {
  c[0] = x
  for i in range(N) {
    c[i] = x >> conv(8, k=3, pad=1) >> relu
  }
  return c[N - 1] >> global_avg_pool >> linear(10)
}
