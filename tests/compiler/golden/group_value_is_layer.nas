# A layer given where an option group takes a value: the group's value parameters size or configure its options.
space group_value_is_layer
options G(w): [8] -> [8] {
  a = linear(w) >> linear(8)
  b = identity
}
network classifier(x: [8]) -> [8] {
  slot s: G(relu)
  return x >> s
}
