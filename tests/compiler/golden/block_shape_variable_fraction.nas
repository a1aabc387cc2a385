# A block whose input pattern doubles its shape variable, called on a 7x7 map: H would be 7/2.
space halves

block Up[C, H, W](x: [C, 2 * H, 2 * W]) -> [C, 2 * H, 2 * W] {
  return x >> conv(C, k=3, pad=1) >> relu
}

network net(x: [1, 7, 7]) -> [10] {
  stem = x >> conv(8, k=3, pad=1)
  u = Up(x=stem)
  return u >> global_avg_pool >> linear(10)
}
