# A layer passed to a block's value parameter and used as a width: the argument's use says it is a layer.
space block_value_is_layer
block B(x: [8], w) -> [8] {
  return x >> linear(w) >> linear(8)
}
network classifier(x: [8]) -> [8] {
  y = B(x=x, w=relu)
  return y
}
