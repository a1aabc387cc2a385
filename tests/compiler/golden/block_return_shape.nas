# The block declares that it keeps the shape but halves the resolution.
space ret

block Down[C, H, W](x: [C, H, W]) -> [C, H, W] {
  param pool: [max, avg]
  y = (x >> max_pool(2)) if pool == max else (x >> avg_pool(2))
  return y
}

network classifier(x: [1, 8, 8]) -> [10] {
  d = Down(x=x)
  return d >> flatten >> linear(10)
}
