# Three unrelated mistakes: all are reported in one pass, in the order of the file.
space many

const width = 16

options STAGE[H, W](C): [C, H, W] -> [C, H, W] {
  skip  = identity
  conv3 = conv(C, k=3) >> relu
}

network classifier(x: [1, 8, 8]) -> [10] {
  slot stage: STAGE(width)
  stem = x >> conv(width, k=3, pad=1) >> batchnorm >> rleu
  h = stem >> stage
  return h >> global_avg_pool >> linear(10, bias=maybe)
}
