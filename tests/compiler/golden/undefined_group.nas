space groups

options STAGE[H, W](C): [C, H, W] -> [C, H, W] {
  skip  = identity
  conv3 = conv(C, k=3, pad=1)
}

network classifier(x: [8, 8, 8]) -> [10] {
  slot stage: STAEG(8)
  return x >> stage >> global_avg_pool >> linear(10)
}
