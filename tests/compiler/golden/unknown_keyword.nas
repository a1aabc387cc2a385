space kw

network classifier(x: [1, 8, 8]) -> [10] {
  h = x >> conv(8, kernel=3, pad=1) >> relu
  return h >> global_avg_pool >> linear(10)
}
