# A squeeze-and-excitation gate sized for the wrong number of channels.
space se

network net(x: [16, 8, 8]) -> [16, 8, 8] {
  gate = x >> global_avg_pool >> linear(8) >> sigmoid
  return x * gate
}
