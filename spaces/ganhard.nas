# The "GanHard" space of PBT-NAS (paper section 4.2; reference: the authors' `c10_pbtnas` / `stl_pbtnas` configs).
#
# 72 genes: 11 for the three latent projections, 21 for the three generator cells (as in gan.nas), and 40 for the
# four searchable discriminator blocks (10 each: edges c0..c6, a downsample flag, two downsampling ops).
# Genome order follows the reference: projections 0-10, cells 11-31, discriminator blocks 32-71.
#
# Size: 186,624 * 151,263^3 * 38,416,000 * 105,413,504^3 ~ 2.9065e52 (printed exactly by `pbtnas compile`).
# The paper's text says 2.9e53; the authors' code gives 2.9065e52 and this file reproduces the code.
#
# CIFAR-10 (the defaults): gf_dim 256, bottom_width 4 -> 32x32 images.
# STL-10:  pbtnas compile spaces/ganhard.nas --set gf_dim=270 --set bottom_width=6   (48x48 images)
#
# Decisions where the reference code has quirks (see docs/spaces.md):
# - the discriminator block SUMS its two branches. The reference computes branch A + branch B and then overwrites
#   the sum with branch A alone, so c2, c4, c6 and down1 get no gradient when both branches exist; the intent is
#   clearly the sum, and this file implements it. It changes every genome: block 1's c0..c2 have no `none`, so
#   both of its branches always exist. `--set sum_branches=off` gives the reference's behaviour exactly (branch A
#   when it exists, else branch B; same genes and weights, branch B then dead compute);
# - skip-ins are added out of place, and ConvTranspose layers get xavier initialisation (as in gan.nas).

space ganhard

const latent_dim = 120
const gf_dim = 256
const df_dim = 128
const bottom_width = 4
const img_size = bottom_width * 8
const sum_branches = on                  # off: a discriminator block returns branch A alone, as the reference code
# Channels of the images both networks see: 3 (RGB) for CIFAR-10 and STL-10; 1 for grey data (the digits of
# `make demo`), where a 3-channel generator spends its few steps on colours the data never has.
const img_channels = 3

init conv = xavier_uniform(gain=1)
init conv_transpose = xavier_uniform(gain=1)
init batchnorm = normal(mean=1.0, std=0.02, bias=0)

# Generator upsampling edge (x2). Option order is the genome's integer encoding.
options UP3[H, W](C): [C, H, W] -> [C, 2 * H, 2 * W] {
  nearest        = upsample(2, mode=nearest) >> relu >> conv(C, k=1)
  bilinear       = upsample(2, mode=bilinear) >> relu >> conv(C, k=1)
  conv_transpose = relu >> conv_transpose(C, k=3, stride=2, pad=1, output_pad=1, groups=C, bias=off)
                   >> conv(C, k=1, bias=off)
}

# Generator normal edge. `none` creates no module and leaves the edge out of its node's sum.
options OPS7[H, W](C): [C, H, W] -> [C, H, W] {
  none         = none
  skip_connect = identity
  conv_1x1     = relu >> conv(C, k=1)
  conv_3x3     = relu >> conv(C, k=3, pad=1)
  conv_5x5     = relu >> conv(C, k=5, pad=2)
  dil_conv_3x3 = relu >> conv(C, k=3, pad=2, dilation=2)
  dil_conv_5x5 = relu >> conv(C, k=5, pad=4, dilation=2)
}

# A DARTS-like generator cell (AdversarialNAS). A node sums its incoming edges; when every edge of node 2 is
# `none` it falls back to node0 + node1, and node 3 to node 2 (PBT-NAS's change that makes every genome viable).
block GenCell[H, W](x: [gf_dim, H, W], inject: [gf_dim, 2 * H, 2 * W]?) -> [gf_dim, 2 * H, 2 * W] {
  slot up0: UP3(gf_dim)
  slot up1: UP3(gf_dim)
  slot c0: OPS7(gf_dim)
  slot c1: OPS7(gf_dim)
  slot c2: OPS7(gf_dim)
  slot c3: OPS7(gf_dim)
  slot c4: OPS7(gf_dim)

  n0 = x >> up0
  n1 = x >> up1
  n2 = sum(n0 >> c0, n1 >> c1) ?? n0 + n1
  skip = sum(n2, inject)                       # the cell's skip output includes the skip-ins it receives
  n3 = sum(n0 >> c2, n1 >> c3, skip >> c4) ?? skip
  return n3
}

# A latent projection: which part of z, projected to which width, then upsampled (with a weightless mode gene)
# to the target width T = bottom_width * 2^i and passed through dropout (a weightless rate gene).
options PROJECTION(i, mode, p): [latent_dim] -> [gf_dim, bottom_width * 2 ** i, bottom_width * 2 ** i] {
  whole_bottom = linear(bottom_width ** 2 * gf_dim) >> reshape(gf_dim, bottom_width, bottom_width)
                 >> upsample(2 ** i, mode=mode) >> dropout(p)
  whole_prev   = linear((bottom_width * 2 ** i // 2) ** 2 * gf_dim)
                 >> reshape(gf_dim, bottom_width * 2 ** i // 2, bottom_width * 2 ** i // 2)
                 >> upsample(2, mode=mode) >> dropout(p)
  whole_target = linear((bottom_width * 2 ** i) ** 2 * gf_dim)
                 >> reshape(gf_dim, bottom_width * 2 ** i, bottom_width * 2 ** i) >> dropout(p)
  part_bottom  = slice(i * (latent_dim // 3), (i + 1) * (latent_dim // 3))
                 >> linear(bottom_width ** 2 * gf_dim) >> reshape(gf_dim, bottom_width, bottom_width)
                 >> upsample(2 ** i, mode=mode) >> dropout(p)
  part_prev    = slice(i * (latent_dim // 3), (i + 1) * (latent_dim // 3))
                 >> linear((bottom_width * 2 ** i // 2) ** 2 * gf_dim)
                 >> reshape(gf_dim, bottom_width * 2 ** i // 2, bottom_width * 2 ** i // 2)
                 >> upsample(2, mode=mode) >> dropout(p)
  part_target  = slice(i * (latent_dim // 3), (i + 1) * (latent_dim // 3))
                 >> linear((bottom_width * 2 ** i) ** 2 * gf_dim)
                 >> reshape(gf_dim, bottom_width * 2 ** i, bottom_width * 2 ** i) >> dropout(p)
}

block Projection(i, z: [latent_dim]) -> [gf_dim, bottom_width * 2 ** i, bottom_width * 2 ** i] {
  slot linear: PROJECTION(i, up_mode, dropout)
  param up_mode: [nearest, bilinear]
  param dropout: [0.0, 0.1, 0.2]
  return z >> linear
}

network generator(z: [latent_dim]) -> [img_channels, img_size, img_size] {
  p0 = Projection(i=0, z=z)                # projection 0 is always on
  param p1_enabled: [off, on]
  p1 = Projection(i=1, z=z)                # a disabled projection keeps its weights but is not added
  param p2_enabled: [off, on]
  p2 = Projection(i=2, z=z)

  cell1 = GenCell(x=p0)
  h1 = sum(cell1, p1 if p1_enabled)
  skip_in2 = cell1.skip >> resize(4 * bottom_width, 4 * bottom_width, mode=bilinear) >> conv(gf_dim, k=1)
  cell2 = GenCell(x=h1, inject=skip_in2)
  h2 = sum(cell2, p2 if p2_enabled)
  skip_in3a = cell1.skip >> resize(8 * bottom_width, 8 * bottom_width, mode=nearest) >> conv(gf_dim, k=1)
  skip_in3b = cell2.skip >> resize(8 * bottom_width, 8 * bottom_width, mode=nearest) >> conv(gf_dim, k=1)
  cell3 = GenCell(x=h2, inject=skip_in3a + skip_in3b)
  to_rgb = cell3 >> batchnorm >> relu >> conv(img_channels, k=3, pad=1) >> tanh
  return to_rgb
}

# Discriminator edges on the image (block 1's c0..c2): no activation before the conv, and no `none`.
options EDGE_RGB[H, W]: [img_channels, H, W] -> [df_dim, H, W] {
  conv_1x1     = conv(df_dim, k=1, sn=on)
  conv_3x3     = conv(df_dim, k=3, pad=1, sn=on)
  conv_5x5     = conv(df_dim, k=5, pad=2, sn=on)
  dil_conv_3x3 = conv(df_dim, k=3, pad=2, dilation=2, sn=on)
  dil_conv_5x5 = conv(df_dim, k=5, pad=4, dilation=2, sn=on)
}

# Every other discriminator edge: ReLU then a spectrally normalised conv.
options EDGE[H, W]: [df_dim, H, W] -> [df_dim, H, W] {
  none         = none
  skip_connect = identity
  conv_1x1     = relu >> conv(df_dim, k=1, sn=on)
  conv_3x3     = relu >> conv(df_dim, k=3, pad=1, sn=on)
  conv_5x5     = relu >> conv(df_dim, k=5, pad=2, sn=on)
  dil_conv_3x3 = relu >> conv(df_dim, k=3, pad=2, dilation=2, sn=on)
  dil_conv_5x5 = relu >> conv(df_dim, k=5, pad=4, dilation=2, sn=on)
}

# Downsampling (x1/2). The `*_input` pools are the same layers as the plain pools; they differ in where the block
# applies them: on the branch inputs instead of the branch output.
options DOWN8[H, W]: [df_dim, H, W] -> [df_dim, H // 2, W // 2] {
  avg_pool_input = avg_pool(2)
  max_pool_input = max_pool(2)
  avg_pool       = avg_pool(2)
  max_pool       = max_pool(2)
  conv_3x3       = relu >> conv(df_dim, k=3, stride=2, pad=1, sn=on)
  conv_5x5       = relu >> conv(df_dim, k=5, stride=2, pad=2, sn=on)
  dil_conv_3x3   = relu >> conv(df_dim, k=3, stride=2, pad=2, dilation=2, sn=on)
  dil_conv_5x5   = relu >> conv(df_dim, k=5, stride=2, pad=4, dilation=2, sn=on)
}

# A searchable discriminator block: two branches (A through c1, c3, c5, down0; B through c2, c4, c6, down1).
block DisBlock[C, H, W](entry: options, x: [C, H, W]) -> [df_dim, H, W] | [df_dim, H // 2, W // 2] {
  slot c0: entry
  slot c1: entry
  slot c2: entry
  slot c3: EDGE
  slot c4: EDGE
  slot c5: EDGE
  slot c6: EDGE
  param downsample: [off, on]
  slot down0: DOWN8
  slot down1: DOWN8

  n0 = x >> c0
  n1 = x >> c1
  n2 = x >> c2
  # A branch exists when its first node does; an `*_input` pool applies to each term before the sum.
  a = sum(n1 >> down0, n0 >> c3 >> down0) if n1 and downsample and down0 in [avg_pool_input, max_pool_input]
      else sum(n1, n0 >> c3) if n1
  b = sum(n2 >> down1, n0 >> c4 >> down1) if n2 and downsample and down1 in [avg_pool_input, max_pool_input]
      else sum(n2, n0 >> c4) if n2
  a5 = a >> c5 ?? a
  b6 = b >> c6 ?? b
  a_out = a5 >> down0 if downsample and not down0 in [avg_pool_input, max_pool_input] else a5
  b_out = b6 >> down1 if downsample and not down1 in [avg_pool_input, max_pool_input] else b6
  # With neither branch, the block returns node 0 without downsampling; with no edge at all, its input.
  out = sum(a_out, b_out) if sum_branches else a_out ?? b_out
  return out ?? n0 ?? x
}

network discriminator(x: [img_channels, img_size, img_size]) -> [1] {
  block1 = DisBlock(entry=EDGE_RGB, x=x)
  block2 = DisBlock(entry=EDGE, x=block1)
  block3 = DisBlock(entry=EDGE, x=block2)
  block4 = DisBlock(entry=EDGE, x=block3)
  # Each block halves the resolution or not, so the final size varies between genomes; the sum pool absorbs it.
  head = block4 >> relu >> global_sum_pool >> linear(1, bias=off, sn=on)
  return head
}
