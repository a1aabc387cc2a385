# NAS-Bench-201 (Dong and Yang, ICLR 2020): one cell genotype of 6 edges, 5 ops each, for all 15 cells.
#
# The network is the benchmark's: a 3x3 conv + BN stem at C channels, three stages of N cells at C, 2C and 4C
# channels with a ResNet basic block halving the size between stages, BN + ReLU, global average pool, linear.
# `cells[k]` numbers cells and reduction blocks in one sequence as the reference code's `cells` does, so the
# weights of cell k live under `classifier.cells.k`. `tied cell` gives all 3N cells one genotype (6 genes named
# `classifier.cell.e10` ... `classifier.cell.e32`) while each cell keeps its own weights: a gene owns the layers
# of its edge in every cell.
#
# CIFAR-10 as in the benchmark: the defaults. The classify task's 8x8 grey digits:
#   pbtnas search --task classify --space spaces/nb201.nas --set in_channels=1 --set resolution=8

space nb201

const C = 16             # channels of the first stage (2C and 4C in the next two)
const N = 5              # cells per stage
const classes = 10
const in_channels = 3
const resolution = 32    # height and width of the input; divisible by 4 (two stride-2 reductions)

# The benchmark's five edge ops. `none` is the `zero` op: the edge outputs zeros and is still summed, so every
# genotype is a network (an all-`none` cell outputs zeros instead of being absent).
options OPS[H, W](C): [C, H, W] -> [C, H, W] {
  none         = zero
  skip_connect = identity
  nor_conv_1x1 = relu >> conv(C, k=1, bias=off) >> batchnorm
  nor_conv_3x3 = relu >> conv(C, k=3, pad=1, bias=off) >> batchnorm
  avg_pool_3x3 = avg_pool(3, stride=1, pad=1, include_pad=off)
}

# Nodes 0..3; node j sums an op on every earlier node. Edges in the benchmark's genotype order: 1<-0, 2<-0, 2<-1,
# 3<-0, 3<-1, 3<-2 (gene `e21` is the edge into node 2 from node 1). The cell's output is node 3.
block Cell[H, W](x: [C, H, W], C) -> [C, H, W] {
  slot e10: OPS(C)
  slot e20: OPS(C)
  slot e21: OPS(C)
  slot e30: OPS(C)
  slot e31: OPS(C)
  slot e32: OPS(C)
  n1 = x >> e10
  n2 = sum(x >> e20, n1 >> e21)
  return sum(x >> e30, n1 >> e31, n2 >> e32)
}

# ResNet's basic block between stages: two ReLU-conv-BN (the first with stride 2) plus a shortcut of a 2x2 average
# pool and a 1x1 conv (no BN).
block Reduction[Ci, H, W](x: [Ci, H, W], C) -> [C, H // 2, W // 2] {
  conv_a = x >> relu >> conv(C, k=3, stride=2, pad=1, bias=off) >> batchnorm
  conv_b = conv_a >> relu >> conv(C, k=3, pad=1, bias=off) >> batchnorm
  shortcut = x >> avg_pool(2, stride=2) >> conv(C, k=1, bias=off)
  return shortcut + conv_b
}

network classifier(x: [in_channels, resolution, resolution]) -> [classes] {
  stem = x >> conv(C, k=3, pad=1, bias=off) >> batchnorm
  for i in range(N) {
    cells[i] = Cell(x=stem if i == 0 else cells[i - 1], C=C) tied cell
  }
  cells[N] = Reduction(x=cells[N - 1], C=2 * C)
  for i in range(N + 1, 2 * N + 1) {
    cells[i] = Cell(x=cells[i - 1], C=2 * C) tied cell
  }
  cells[2 * N + 1] = Reduction(x=cells[2 * N], C=4 * C)
  for i in range(2 * N + 2, 3 * N + 2) {
    cells[i] = Cell(x=cells[i - 1], C=4 * C) tied cell
  }
  return cells[3 * N + 1] >> batchnorm >> relu >> global_avg_pool >> linear(classes)
}
