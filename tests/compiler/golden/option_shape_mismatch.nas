# One option of the stage forgets the padding of its 5x5 conv.
space mismatch

options STAGE[H, W](C): [C, H, W] -> [C, H, W] {
  skip  = identity
  conv3 = conv(C, k=3, pad=1) >> relu
  conv5 = conv(C, k=5, pad=1) >> relu
}

network classifier(x: [1, 8, 8]) -> [10] {
  slot stage: STAGE(16)
  stem = x >> conv(16, k=3, pad=1)
  return stem >> stage >> global_avg_pool >> linear(10)
}
