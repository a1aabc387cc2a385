space cond

network classifier(x: [4, 8, 8]) -> [10] {
  param pool: [max, avg]
  h = (x >> max_pool(2)) if pool in [max, average] else (x >> avg_pool(2))
  return h >> global_avg_pool >> linear(10)
}
