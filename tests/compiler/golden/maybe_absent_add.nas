# An edge that can be `none` is added with `+`, which needs both sides.
space absent

options EDGE[H, W]: [8, H, W] -> [8, H, W] {
  none  = none
  conv3 = conv(8, k=3, pad=1)
}

network classifier(x: [8, 8, 8]) -> [10] {
  slot e: EDGE
  h = x + (x >> e)
  return h >> global_avg_pool >> linear(10)
}
