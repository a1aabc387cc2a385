# A downsampling slot whose interface takes [C, 2 * H, 2 * W]: a 7x7 input would make H = 7/2.
space s2h

options UP[C, H, W]: [C, 2 * H, 2 * W] -> [C, H, W] {
  max = max_pool(2)
  avg = avg_pool(2)
}

network net(x: [1, 7, 7]) -> [10] {
  slot down: UP
  stem = x >> conv(8, k=3, pad=1)
  return stem >> down >> global_avg_pool >> linear(10)
}
