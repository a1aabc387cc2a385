# A gate that a gene can switch off, multiplied as if it always existed.
space se

network net(x: [16, 8, 8]) -> [16, 8, 8] {
  param se: [off, on]
  gate = x >> global_avg_pool >> linear(16) >> sigmoid if se
  return x * gate
}
