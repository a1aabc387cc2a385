# DARTS (Liu et al., ICLR 2019): the evaluation network `NetworkCIFAR` with one normal and one reduction genotype.
#
# Stem conv3x3 (3C channels) + BN, then `cells` cells; the cells at cells // 3 and 2 * cells // 3 are reduction
# cells that double the width and halve the resolution. Every cell reads the outputs of the two cells before it
# (the stem stands in for missing ones), brings them to C channels (ReLU-conv1x1-BN, or `factorized_reduce` for
# the older input when the previous cell reduced), and has 4 intermediate nodes. Node j takes 2 DISTINCT inputs
# among the cell's two inputs and nodes 0..j-1, each through one of the 7 ops, and sums them; the cell outputs the
# concat of the 4 nodes (4C channels). Global average pool and a linear classifier (no auxiliary head).
#
# Genome (24 genes): the normal cell's 12 genes, then the reduction cell's 12, each cell node by node:
#   in{j}  the pair of inputs, one gene whose options are the C(j + 2, 2) pairs in list order (`s0_s1`, `s0_n0`, ...)
#   a{j}   the op on the first input of the pair (the earlier one in the candidate list)
#   b{j}   the op on the second
# named `classifier.normal.in0`, `classifier.normal.a0`, ..., `classifier.reduce.b3`. A published genotype lists
# (op, input) pairs per node in any order; the pair's sum does not depend on it, so sort each pair by input.
# Size: per cell (1*49)(3*49)(6*49)(10*49) = 1,037,664,180; the space is its square.
#
# CIFAR-10 at the paper's evaluation size is the default (C = 36, 20 cells: 3,349,342 parameters for DARTS-V2).
# The classify task's 8x8 grey digits at a laptop width:
#   pbtnas search --task classify --space spaces/darts.nas --set in_channels=1 --set resolution=8 --set C=4 \
#     --set cells=3

space darts

const C = 36             # channels of a node in the first stage (2C after the first reduction, 4C after the second)
const cells = 20         # at least 3: two of them are the reduction cells
const classes = 10
const in_channels = 3
const resolution = 32    # height and width of the input; divisible by 4 (two reductions)
const r1 = cells // 3    # the reduction cells
const r2 = 2 * cells // 3

# The 7 ops at stride 1 (normal cells, and edges from intermediate nodes of a reduction cell) and at stride 2
# (edges from the two cell inputs of a reduction cell). Both groups list the same names in the same order, so one
# gene chooses the op of an edge whichever stride its input needs. Convolutions have no bias, BN is affine.
options OPS[H, W](C): [C, H, W] -> [C, H, W] {
  sep_conv_3x3 = relu >> conv(C, k=3, pad=1, groups=C, bias=off) >> conv(C, k=1, bias=off) >> batchnorm
                 >> relu >> conv(C, k=3, pad=1, groups=C, bias=off) >> conv(C, k=1, bias=off) >> batchnorm
  sep_conv_5x5 = relu >> conv(C, k=5, pad=2, groups=C, bias=off) >> conv(C, k=1, bias=off) >> batchnorm
                 >> relu >> conv(C, k=5, pad=2, groups=C, bias=off) >> conv(C, k=1, bias=off) >> batchnorm
  dil_conv_3x3 = relu >> conv(C, k=3, pad=2, dilation=2, groups=C, bias=off) >> conv(C, k=1, bias=off) >> batchnorm
  dil_conv_5x5 = relu >> conv(C, k=5, pad=4, dilation=2, groups=C, bias=off) >> conv(C, k=1, bias=off) >> batchnorm
  max_pool_3x3 = max_pool(3, stride=1, pad=1)
  avg_pool_3x3 = avg_pool(3, stride=1, pad=1, include_pad=off)
  skip_connect = identity
}

options DOWN_OPS[H, W](C): [C, H, W] -> [C, H // 2, W // 2] {
  sep_conv_3x3 = relu >> conv(C, k=3, stride=2, pad=1, groups=C, bias=off) >> conv(C, k=1, bias=off) >> batchnorm
                 >> relu >> conv(C, k=3, pad=1, groups=C, bias=off) >> conv(C, k=1, bias=off) >> batchnorm
  sep_conv_5x5 = relu >> conv(C, k=5, stride=2, pad=2, groups=C, bias=off) >> conv(C, k=1, bias=off) >> batchnorm
                 >> relu >> conv(C, k=5, pad=2, groups=C, bias=off) >> conv(C, k=1, bias=off) >> batchnorm
  dil_conv_3x3 = relu >> conv(C, k=3, stride=2, pad=2, dilation=2, groups=C, bias=off) >> conv(C, k=1, bias=off)
                 >> batchnorm
  dil_conv_5x5 = relu >> conv(C, k=5, stride=2, pad=4, dilation=2, groups=C, bias=off) >> conv(C, k=1, bias=off)
                 >> batchnorm
  max_pool_3x3 = max_pool(3, stride=2, pad=1)
  avg_pool_3x3 = avg_pool(3, stride=2, pad=1, include_pad=off)
  skip_connect = factorized_reduce(C)
}

# A normal cell. `rp` is 1 when the previous cell reduced: the older input is then at twice the resolution.
block NormalCell[C0, H0, W0, C1, H, W](x0: [C0, H0, W0], x1: [C1, H, W], C, rp) -> [4 * C, H, W] {
  s0 = x0 >> factorized_reduce(C) if rp == 1 else x0 >> relu >> conv(C, k=1, bias=off) >> batchnorm
  s1 = x1 >> relu >> conv(C, k=1, bias=off) >> batchnorm
  pick in0: 2 of [s0, s1]
  slot a0: OPS(C)
  slot b0: OPS(C)
  n0 = a0(in0[0]) + b0(in0[1])
  pick in1: 2 of [s0, s1, n0]
  slot a1: OPS(C)
  slot b1: OPS(C)
  n1 = a1(in1[0]) + b1(in1[1])
  pick in2: 2 of [s0, s1, n0, n1]
  slot a2: OPS(C)
  slot b2: OPS(C)
  n2 = a2(in2[0]) + b2(in2[1])
  pick in3: 2 of [s0, s1, n0, n1, n2]
  slot a3: OPS(C)
  slot b3: OPS(C)
  n3 = a3(in3[0]) + b3(in3[1])
  return cat(n0, n1, n2, n3)
}

# A reduction cell: an edge from s0 or s1 halves the resolution, an edge from a node keeps it. Where a pick can
# route either kind of input to an edge, the edge has two slots tied into one gene (`a2` of `a2_down` and
# `a2_keep`): the genome holds one op per edge, and the slot a genome's pick does not route to is not built, so
# each edge has the layers of exactly one op, as in the reference network.
block ReductionCell[C0, H0, W0, C1, H, W](x0: [C0, H0, W0], x1: [C1, H, W], C, rp) -> [4 * C, H // 2, W // 2] {
  s0 = x0 >> factorized_reduce(C) if rp == 1 else x0 >> relu >> conv(C, k=1, bias=off) >> batchnorm
  s1 = x1 >> relu >> conv(C, k=1, bias=off) >> batchnorm
  pick in0: 2 of [s0, s1]
  slot a0: DOWN_OPS(C)
  slot b0: DOWN_OPS(C)
  n0 = a0(in0[0]) + b0(in0[1])
  pick in1: 2 of [s0, s1, n0]
  slot a1: DOWN_OPS(C)                       # the first of a pair of these three is always s0 or s1
  slot b1_down: DOWN_OPS(C) tied b1
  slot b1_keep: OPS(C) tied b1
  n1 = a1(in1[0]) + (b1_down(in1[1]) if in1[1] in [s0, s1] else b1_keep(in1[1]))
  pick in2: 2 of [s0, s1, n0, n1]
  slot a2_down: DOWN_OPS(C) tied a2
  slot a2_keep: OPS(C) tied a2
  slot b2_down: DOWN_OPS(C) tied b2
  slot b2_keep: OPS(C) tied b2
  n2 = (a2_down(in2[0]) if in2[0] in [s0, s1] else a2_keep(in2[0]))
       + (b2_down(in2[1]) if in2[1] in [s0, s1] else b2_keep(in2[1]))
  pick in3: 2 of [s0, s1, n0, n1, n2]
  slot a3_down: DOWN_OPS(C) tied a3
  slot a3_keep: OPS(C) tied a3
  slot b3_down: DOWN_OPS(C) tied b3
  slot b3_keep: OPS(C) tied b3
  n3 = (a3_down(in3[0]) if in3[0] in [s0, s1] else a3_keep(in3[0]))
       + (b3_down(in3[1]) if in3[1] in [s0, s1] else b3_keep(in3[1]))
  return cat(n0, n1, n2, n3)
}

# Cells c[0] ... c[cells - 1]; the stem stands in for the inputs of cells 0 and 1. `1 // (i - r1)` is 1 for the
# first cell after a reduction and 0 for the later ones.
network classifier(x: [in_channels, resolution, resolution]) -> [classes] {
  stem = x >> conv(3 * C, k=3, pad=1, bias=off) >> batchnorm
  for i in range(r1) {
    c[i] = NormalCell(x0=stem if i in [0, 1] else c[i - 2], x1=stem if i == 0 else c[i - 1], C=C, rp=0)
      tied normal
  }
  c[r1] = ReductionCell(x0=stem if r1 in [0, 1] else c[r1 - 2], x1=stem if r1 == 0 else c[r1 - 1], C=2 * C, rp=0)
    tied reduce
  for i in range(r1 + 1, r2) {
    c[i] = NormalCell(x0=c[i - 2], x1=c[i - 1], C=2 * C, rp=1 // (i - r1)) tied normal
  }
  c[r2] = ReductionCell(x0=c[r2 - 2], x1=c[r2 - 1], C=4 * C, rp=1 // (r2 - r1)) tied reduce
  for i in range(r2 + 1, cells) {
    c[i] = NormalCell(x0=c[i - 2], x1=c[i - 1], C=4 * C, rp=1 // (i - r2)) tied normal
  }
  return c[cells - 1] >> global_avg_pool >> linear(classes)
}
