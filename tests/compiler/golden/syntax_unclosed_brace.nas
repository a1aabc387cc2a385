space syn

options OPS[H, W]: [4, H, W] -> [4, H, W] {
  skip = identity
  conv3 = conv(4, k=3, pad=1)

network classifier(x: [4, 8, 8]) -> [10] {
  slot op: OPS
  return x >> op >> global_avg_pool >> linear(10)
}
