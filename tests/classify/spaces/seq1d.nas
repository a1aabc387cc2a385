# A small space over [1, length] sequences (MNIST-1D's samples) for the classify tests.

space seq1d

const length = 40
const classes = 10

network classifier(x: [1, length]) -> [classes] {
  param width: [32, 64]
  slot act: [width] -> [width] {
    relu = relu
    tanh = tanh
  }

  h = x >> flatten >> linear(width) >> act
  return h >> linear(classes)
}
