# Padding computed from a kernel gene that is negative for one of its options.
space mb

network net(x: [8, 16, 16]) -> [8, 16, 16] {
  param k: [1, 3, 5]
  return x >> conv(8, k=k, pad=(k - 3) // 2) >> conv(8, k=3, pad=1)
}
