# The head's linear layer sees 4x4 or 8x8 inputs depending on a gene: its weight shape is not fixed.
space weights

network classifier(x: [4, 8, 8]) -> [10] {
  param down: [off, on]
  h = (x >> max_pool(2)) if down else x
  return h >> flatten >> linear(10)
}
