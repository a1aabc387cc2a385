# The "Gan" space of PBT-NAS (paper section 4.2; reference: the authors' `c10_easy_*` / `stl_easy_*` configs).
#
# 21 genes: three generator cells with 7 genes each (2 upsampling edges, 5 normal edges). The latent projections
# are fixed (the part of z of their index, projected straight to the target width) and own no gene; the
# discriminator is the fixed AutoGAN discriminator.
#
# Size: 151,263^3 = 3,460,972,340,748,447 ~ 3.46e15. The paper's text says 3.4e19; the authors' code (the product
# of the option counts of these 21 genes) gives 3.46e15, and this file reproduces the code.
#
# CIFAR-10 (the defaults): gf_dim 256, bottom_width 4 -> 32x32 images; three projections, each of a third of z.
# STL-10:  pbtnas compile spaces/gan.nas --set gf_dim=270 --set bottom_width=6 --set stl_projections=on
#          (48x48 images). `stl_projections=on` is the authors' STL layout (their `if_stl_projections`, set by
#          the stl_easy_* configs): two projections, each of half of z, into cell 1 and after cell 1, and none
#          after cell 2. The genome and the schema hash are the same either way; only the projections differ.
#
# Decisions where the reference code has quirks (see docs/spaces.md):
# - the skip-in contributions are added out of place; the reference adds them in place onto node 2, which is always
#   a new tensor there (each edge returns a `sum`), so the two give the same result;
# - ConvTranspose layers get the same xavier initialisation as convolutions (the reference's name test misses them).

space gan

const latent_dim = 120
const gf_dim = 256
const df_dim = 128
const bottom_width = 4
const img_size = bottom_width * 8
const stl_projections = off                          # on: the STL-10 layout of the authors' code (see above)
const z_part = latent_dim // (2 if stl_projections else 3)

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

network generator(z: [latent_dim]) -> [3, img_size, img_size] {
  # Fixed projections: part i of z -> the width where it is added. With `stl_projections` the third is not
  # compiled at all (decided from the constant, so it has no weights).
  l1 = z >> slice(0, z_part) >> linear(bottom_width ** 2 * gf_dim)
       >> reshape(gf_dim, bottom_width, bottom_width)
  l2 = z >> slice(z_part, 2 * z_part) >> linear(4 * bottom_width ** 2 * gf_dim)
       >> reshape(gf_dim, 2 * bottom_width, 2 * bottom_width)
  l3 = (z >> slice(2 * z_part, 3 * z_part) >> linear(16 * bottom_width ** 2 * gf_dim)
        >> reshape(gf_dim, 4 * bottom_width, 4 * bottom_width)) if not stl_projections

  cell1 = GenCell(x=l1)
  h1 = cell1 + l2
  skip_in2 = cell1.skip >> resize(4 * bottom_width, 4 * bottom_width, mode=bilinear) >> conv(gf_dim, k=1)
  cell2 = GenCell(x=h1, inject=skip_in2)
  h2 = sum(cell2, l3)
  skip_in3a = cell1.skip >> resize(8 * bottom_width, 8 * bottom_width, mode=nearest) >> conv(gf_dim, k=1)
  skip_in3b = cell2.skip >> resize(8 * bottom_width, 8 * bottom_width, mode=nearest) >> conv(gf_dim, k=1)
  cell3 = GenCell(x=h2, inject=skip_in3a + skip_in3b)
  to_rgb = cell3 >> batchnorm >> relu >> conv(3, k=3, pad=1) >> tanh
  return to_rgb
}

# The fixed AutoGAN discriminator: spectral norm on every conv and linear layer.
network discriminator(x: [3, img_size, img_size]) -> [1] {
  block1 = x >> conv(df_dim, k=3, pad=1, sn=on) >> relu >> conv(df_dim, k=3, pad=1, sn=on) >> avg_pool(2)
  short1 = x >> avg_pool(2) >> conv(df_dim, k=1, sn=on)
  h1 = block1 + short1
  block2 = h1 >> relu >> conv(df_dim, k=3, pad=1, sn=on) >> relu >> conv(df_dim, k=3, pad=1, sn=on) >> avg_pool(2)
  short2 = h1 >> conv(df_dim, k=1, sn=on) >> avg_pool(2)
  h2 = block2 + short2
  block3 = h2 >> residual(relu >> conv(df_dim, k=3, pad=1, sn=on) >> relu >> conv(df_dim, k=3, pad=1, sn=on))
  block4 = block3 >> residual(relu >> conv(df_dim, k=3, pad=1, sn=on) >> relu >> conv(df_dim, k=3, pad=1, sn=on))
  head = block4 >> relu >> global_sum_pool >> linear(1, bias=off, sn=on)
  return head
}
