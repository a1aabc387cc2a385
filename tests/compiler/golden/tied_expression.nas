space cells

network classifier(x: [8, 8, 8]) -> [10] {
  h = x >> conv(8, k=3, pad=1) >> relu tied stem
  return h >> global_avg_pool >> linear(10)
}
