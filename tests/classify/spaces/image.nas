# A small CNN space over [channels, size, size] images for the classify tests.

space image

const channels = 3
const size = 8
const width = 8
const classes = 3

network classifier(x: [channels, size, size]) -> [classes] {
  slot stage: [width, size, size] -> [width, size, size] {
    skip  = identity
    conv3 = conv(width, k=3, pad=1) >> batchnorm >> relu
  }

  h = x >> conv(width, k=3, pad=1) >> relu >> stage
  return h >> global_avg_pool >> linear(classes)
}
