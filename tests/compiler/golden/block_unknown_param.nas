space blocks

block Stage[H, W](x: [8, H, W]) -> [8, H, W] {
  param act: [relu, tanh]
  return x >> activation(act)
}

network classifier(x: [8, 8, 8]) -> [10] {
  s = Stage(input=x)
  return s >> global_avg_pool >> linear(10)
}
