space sums

network classifier(x: [8, 8, 8]) -> [10] {
  a = x >> conv(8, k=3, pad=1)
  b = x >> conv(16, k=3, pad=1)
  h = sum(a, b)
  return h >> global_avg_pool >> linear(10)
}
