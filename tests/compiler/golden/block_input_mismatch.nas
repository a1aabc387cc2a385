space fit

block Stage[H, W](x: [16, H, W]) -> [16, H, W] {
  slot op: [16, H, W] -> [16, H, W] {
    skip  = identity
    conv3 = conv(16, k=3, pad=1)
  }
  return x >> op
}

network classifier(x: [1, 8, 8]) -> [10] {
  s1 = Stage(x=x)
  return s1 >> global_avg_pool >> linear(10)
}
