space arity

network classifier(x: [1, 8, 8]) -> [10] {
  h = x >> conv(8, 3, 1, 1, 1, 1, on, off, hook, 7) >> relu
  return h >> global_avg_pool >> linear(10)
}
