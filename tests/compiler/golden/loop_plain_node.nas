space stack

network classifier(x: [8, 8, 8]) -> [10] {
  h0 = x
  for i in range(3) {
    h = h0 >> conv(8, k=3, pad=1) >> relu
  }
  return h >> global_avg_pool >> linear(10)
}
