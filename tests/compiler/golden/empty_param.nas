space empty

network classifier(x: [4, 8, 8]) -> [10] {
  param act: []
  return x >> activation(act) >> global_avg_pool >> linear(10)
}
