# The critic declares two Q-values but returns only one.
space critic

network twin(x: [32]) -> ([1], [1]) {
  h = x >> linear(64) >> relu
  q1 = h >> linear(1)
  return q1
}
