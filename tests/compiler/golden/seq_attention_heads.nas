# A transformer layer whose heads gene does not divide every option of the width gene (a head is D / heads wide).
space tokens

block Layer[T, D](x: [T, D]) -> [T, D] {
  param heads: [2, 3, 4]
  return x + (x >> layernorm >> attention(heads))
}

network net(x: [3, 32, 32]) -> [10] {
  param width: [32, 48, 64]
  t = x >> patch_embed(width, patch=8) >> pos_embed
  layer = Layer(x=t)
  return layer >> mean_tokens >> linear(10)
}
