space acts

values ACT = [relu, tanh, mish]

network classifier(x: [4, 8, 8]) -> [10] {
  param act: ACT
  h = x >> conv(8, k=3, pad=1) >> activation(act)
  return h >> global_avg_pool >> linear(10)
}
