space syn

network classifier(x: [4, 8, 8],) -> [10] {
  return x >> global_avg_pool >> linear(10)
}
