# The seq1d space with a slot whose options come from a plugin (tests/classify/classify_plugin_ops.py).

space plugged

const length = 40
const classes = 10

network classifier(x: [1, length]) -> [classes] {
  slot pre: [length] -> [length] {
    plain  = identity
    scaled = scaled_by(2.0)
  }
  param width: [32, 64]

  h = x >> flatten >> pre >> linear(width) >> relu
  return h >> linear(classes)
}
