space dup

network classifier(x: [4, 8, 8]) -> [10] {
  param act: [relu, tanh]
  param act: [relu, gelu]
  h = x >> activation(act)
  return h >> global_avg_pool >> linear(10)
}
