space missing

network classifier(x: [1, 8, 8]) -> [10] {
  h = x >> conv(k=3, pad=1) >> relu
  return h >> global_avg_pool >> linear(10)
}
