# A small vision transformer space in the manner of AutoFormer (Chen et al., ICCV 2021): the embedding width is a
# dimension gene shared by every layer, and each encoder layer chooses its number of heads, its MLP ratio and
# whether it is active at all (an inactive layer passes its input on; its genes are then inactive). The classifier
# reads the mean of the tokens or a class token.
#
# The compiler proves every option of `heads` divides every option of `width` (a head is width / heads wide), and
# the patches tile the image. The defaults are small enough for a quick CPU search on 32x32 images:
#   pbtnas check spaces/vit.nas --set layers=6 --set patch=4

space vit

const channels = 3
const image = 32       # height and width of the input
const patch = 8        # (image / patch) ** 2 tokens: 16 at the defaults
const layers = 4
const classes = 10

# A pre-norm transformer encoder layer on [T, D], skipped when `active` is off.
block Layer[T, D](x: [T, D]) -> [T, D] {
  param active: [off, on]
  param heads: [1, 2, 4]
  param ratio: [2, 3, 4]
  a = x + (x >> layernorm >> attention(heads))
  m = a + (a >> layernorm >> linear(D * ratio) >> gelu >> linear(D))
  return m if active else x
}

network classifier(x: [channels, image, image]) -> [classes] {
  param width: [32, 48, 64]
  param pool: [mean, cls]
  t = x >> patch_embed(width, patch=patch)
  l[0] = (t >> pos_embed) if pool == mean else (t >> cls_token >> pos_embed)
  for i in range(layers) {
    l[i + 1] = Layer(x=l[i])
  }
  h = l[layers] >> layernorm
  return ((h >> mean_tokens) if pool == mean else (h >> first_token)) >> linear(classes)
}
