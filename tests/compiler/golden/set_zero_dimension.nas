# The classifier's width is a constant; `--set width=0` makes its hidden layer empty.
space tunable

const width = 32

network classifier(x: [64]) -> [10] {
  h = x >> linear(width) >> relu
  return h >> linear(10)
}
