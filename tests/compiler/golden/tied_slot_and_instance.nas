space cells

options OPS[H, W](C): [C, H, W] -> [C, H, W] {
  skip = identity
  conv = relu >> conv(C, k=3, pad=1, bias=off) >> batchnorm
}

block Cell[H, W](x: [C, H, W], C) -> [C, H, W] {
  slot e: OPS(C)
  return x >> e
}

network classifier(x: [8, 8, 8]) -> [10] {
  slot pre: OPS(8) tied shared
  a = Cell(x=x >> pre, C=8) tied shared
  return a >> global_avg_pool >> linear(10)
}
