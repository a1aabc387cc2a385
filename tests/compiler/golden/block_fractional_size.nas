# A downsampling slot on a 7x7 input: its options halve H, which 7 does not divide.
space odd

options Reduce[C, H, W]: [C, H, W] -> [C, H // 2, W // 2] {
  max = max_pool(2),
  avg = avg_pool(2)
}

block Head[C, H, W](x: [C, H, W]) -> [10] {
  return x >> flatten >> linear(10)
}

block Down[C, H, W](x: [C, H, W]) -> [10] {
  slot r: Reduce
  h = Head(x=x >> r)
  return h
}

network classifier(x: [1, 7, 7]) -> [10] {
  d = Down(x=x)
  return d
}
