# Every edge of the cell can be `none`, and the cell has no fallback.
space absent

options EDGE[H, W]: [8, H, W] -> [8, H, W] {
  none  = none
  conv3 = conv(8, k=3, pad=1)
}

block Cell[H, W](x: [8, H, W]) -> [8, H, W] {
  slot e0: EDGE
  slot e1: EDGE
  return sum(x >> e0, x >> e1)
}

network classifier(x: [8, 8, 8]) -> [10] {
  c = Cell(x=x)
  return c >> global_avg_pool >> linear(10)
}
