# Sequence ops given tensors of the wrong rank: an image to a token op, a vector to a signal op, and the like.
space ranks

network net(x: [3, 16, 16]) -> [10] {
  a = x >> attention(2)
  v = x >> global_avg_pool
  b = v >> conv1d(8, k=3)
  c = v >> mean_tokens
  d = v >> transpose
  e = x >> batchnorm1d
  f = x >> max_pool1d(2)
  g = v >> pos_embed
  p = v >> patch_embed(8, patch=2)
  return v >> linear(10)
}
