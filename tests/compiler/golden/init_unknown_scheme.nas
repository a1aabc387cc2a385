space inits

init conv = xavier(gain=1)

network classifier(x: [4, 8, 8]) -> [10] {
  return x >> conv(8, k=3, pad=1) >> global_avg_pool >> linear(10)
}
