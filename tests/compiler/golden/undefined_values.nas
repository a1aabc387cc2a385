space vals

values ACTS = [relu, tanh]

network classifier(x: [8, 8, 8]) -> [10] {
  param act: ACT
  return x >> activation(act) >> global_avg_pool >> linear(10)
}
