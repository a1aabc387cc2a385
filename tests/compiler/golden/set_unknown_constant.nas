space sets

const width = 16
const classes = 10

network classifier(x: [1, 8, 8]) -> [classes] {
  return x >> conv(width, k=3, pad=1) >> global_avg_pool >> linear(classes)
}
