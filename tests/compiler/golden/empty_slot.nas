space empty

network classifier(x: [4, 8, 8]) -> [10] {
  slot op: [4, 8, 8] -> [4, 8, 8] {
  }
  return x >> op >> global_avg_pool >> linear(10)
}
