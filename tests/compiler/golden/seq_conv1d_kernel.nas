# Kernels longer than the signal they slide over: no output position is left.
space signal

network net(x: [1, 8]) -> [10] {
  param k: [3, 11]
  a = x >> conv1d(8, k=3) >> max_pool1d(2) >> conv1d(8, k=5)
  b = x >> conv1d(8, k=k)
  return (a >> flatten >> linear(10)) + (b >> flatten >> linear(10))
}
