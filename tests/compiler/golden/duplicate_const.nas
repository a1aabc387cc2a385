space dup

const width = 16
const depth = 2
const width = 32

network classifier(x: [1, 8, 8]) -> [10] {
  return x >> conv(width, k=3, pad=1) >> global_avg_pool >> linear(10)
}
