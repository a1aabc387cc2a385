space typo

network classifier(x: [1, 8, 8]) -> [10] {
  slot stage: [1, 8, 8] -> [4, 8, 8] {
    conv3 = conv(4, k=3, pad=1)
    sep3  = depthwise_conv(4, k=3, pad=1)
  }
  return x >> stage >> global_avg_pool >> linear(10)
}
