# A tabular MLP space, written as a new user would: the widths themselves are genes.
#
# `width1` and `width2` are dimension genes: every layer whose weights they shape belongs to them, so mixing two
# networks copies a width together with the layers it sizes. `hidden2` reads `width1` as its input size, so those
# two genes own overlapping layers and are copied together (the compiler reports them as linked).

space mlp

const features = 64      # e.g. scikit-learn's digits, flattened
const classes = 10

values ACT = [relu, tanh, gelu]

network classifier(x: [features]) -> [classes] {
  param width1: [32, 64, 128]
  param act1: ACT
  param width2: [32, 64, 128]
  param act2: ACT
  slot norm: [width2] -> [width2] {
    plain     = identity
    layernorm = layernorm
  }
  param dropout: [0.0, 0.2]

  hidden1 = x >> linear(width1) >> activation(act1)
  hidden2 = hidden1 >> linear(width2) >> activation(act2)
  out = hidden2 >> norm >> dropout(dropout) >> linear(classes)
  return out
}
