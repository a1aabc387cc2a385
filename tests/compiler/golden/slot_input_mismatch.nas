# The stem makes 8 channels but the slot expects 16.
space fit

options STAGE[H, W](C): [C, H, W] -> [C, H, W] {
  skip  = identity
  conv3 = conv(C, k=3, pad=1) >> relu
}

network classifier(x: [1, 8, 8]) -> [10] {
  slot stage: STAGE(16)
  stem = x >> conv(8, k=3, pad=1)
  return stem >> stage >> global_avg_pool >> linear(10)
}
