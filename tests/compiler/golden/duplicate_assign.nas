space dup

network classifier(x: [4, 8, 8]) -> [10] {
  h = x >> conv(4, k=3, pad=1)
  h = h >> relu
  return h >> global_avg_pool >> linear(10)
}
