space dup

options ACT_OPS[H, W](C): [C, H, W] -> [C, H, W] {
  relu = relu
  tanh = tanh
  relu = gelu
}

network classifier(x: [4, 8, 8]) -> [10] {
  slot act: ACT_OPS(4)
  return x >> act >> global_avg_pool >> linear(10)
}
