# A 2-d pool padded by more than half its kernel: torch refuses it only when the network runs, so the compiler does.
space padded

options DOWN: [16, 16, 16] -> [16, 9, 9] {
  avg = avg_pool(2, pad=1)
  max = max_pool(2, pad=1)
  wide = max_pool(5, stride=2, pad=3)
}

network net(x: [3, 16, 16]) -> [10] {
  slot down: DOWN
  stem = x >> conv(16, k=3, pad=1) >> relu
  return stem >> down >> global_avg_pool >> linear(10)
}
