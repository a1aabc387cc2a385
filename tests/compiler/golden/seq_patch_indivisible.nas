# Patches that do not tile the image: 32 is not a multiple of 6.
space vit

const patch = 6

network net(x: [3, 32, 32]) -> [10] {
  return x >> patch_embed(64, patch=patch) >> mean_tokens >> linear(10)
}
