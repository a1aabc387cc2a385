space cells

options OPS[H, W](C): [C, H, W] -> [C, H, W] {
  skip = identity
  conv = relu >> conv(C, k=3, pad=1, bias=off) >> batchnorm
}

block Normal[H, W](x: [C, H, W], C) -> [C, H, W] {
  slot e: OPS(C)
  return x >> e
}

block Wide[H, W](x: [C, H, W], C) -> [C, H, W] {
  slot e: OPS(C)
  return sum(x, x >> e)
}

network classifier(x: [8, 8, 8]) -> [10] {
  a = Normal(x=x, C=8) tied cell
  b = Wide(x=a, C=8) tied cell
  return b >> global_avg_pool >> linear(10)
}
