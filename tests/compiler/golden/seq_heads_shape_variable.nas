# An option group generic in the width D: a heads gene cannot be proven to divide a width not known here, and a
# constant head count is a requirement on D, checked where the slot is used.
space tokens

options MIX[T, D](h): [T, D] -> [T, D] {
  attend = attention(h)
  skip   = identity
}

options FIXED[T, D]: [T, D] -> [T, D] {
  four = attention(4)
  skip = identity
}

network net(x: [1, 40]) -> [10] {
  param heads: [1, 2]
  slot mix: MIX(heads)
  slot fixed: FIXED
  t = x >> conv1d(6, k=4, stride=4) >> transpose
  return t >> mix >> fixed >> mean_tokens >> linear(10)
}
