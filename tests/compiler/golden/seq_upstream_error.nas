# One mistake upstream (patches that do not tile the image): the layers after it are still checked for their own
# mistakes, and a heads gene over the width lost to the error is not blamed.
space vit

block Layer[T, D](x: [T, D]) -> [T, D] {
  param heads: [1, 2, 4]
  a = x + (x >> layernorm >> attention(heads))
  return a + (a >> layernorm >> linear(2 * D) >> gelu >> linear(D))
}

network net(x: [3, 32, 32]) -> [10] {
  param width: [32, 64]
  t = x >> patch_embed(width, patch=5) >> pos_embed
  l1 = Layer(x=t)
  l2 = Layer(x=l1)
  return l2 >> layernorm >> mean_tokens >> linear(10)
}
