# A grouped conv whose group count does not divide the expanded channels for every expansion option.
space mb

const C = 8

network net(x: [8, 16, 16]) -> [8, 16, 16] {
  param e: [3, 4, 6]
  h = x >> conv(C * e, k=1) >> conv(C * e, k=3, pad=1, groups=16)
  return h >> conv(C, k=1)
}
