# Once-for-All MobileNetV3 (Cai et al., ICLR 2020): 5 units of 2 to 4 inverted bottlenecks, kernel and expansion
# of every block chosen separately.
#
# The network is the reference subnet of OFA's MobileNetV3 (width 1.0): a 3x3 stride-2 conv + BN + h-swish stem,
# a fixed first block (depthwise 3x3, no expansion, identity shortcut), five units at widths 24, 40, 80, 112, 160
# with strides 2, 2, 2, 1, 2, activations ReLU, ReLU, h-swish, h-swish, h-swish and squeeze-and-excitation in units
# 2, 4 and 5, then a 1x1 expansion to 960 + BN + h-swish, global average pool, a 1x1 feature mix to 1280 (no bias,
# no BN) + h-swish, dropout and the classifier.
#
# Depth: each unit has a gene `d` in [2, 3, 4] and four blocks; the unit's output is its d-th block, so the genes
# of the blocks past d are inactive (`pbtnas compile` counts 7,371 ** 5 distinct architectures among
# (3 * 9 ** 4) ** 5 genomes, and `pbtnas show` counts the parameters of the active blocks only).
#
# Widths are constants: a width multiplier m is `--set` of make_divisible(c * m, 8) for each of them; they must be
# multiples of 8 (so that the reference's make_divisible(C * e, 8) is C * e) and the widths of consecutive units
# must differ (the reference adds a shortcut wherever a block keeps its width at stride 1).
# The classify task's 8x8 grey digits at a small width (the stem and units 1 and 2 halve 8 to 1):
#   pbtnas search --task classify --space spaces/ofa_mbv3.nas --set in_channels=1 --set resolution=8 \
#     --set s3=1 --set s5=1 --set classes=10 --set first=8 --set w1=8 --set w2=16 --set w3=24 --set w4=32 \
#     --set w5=40 --set final=48 --set last=64

space ofa_mbv3

const classes = 1000
const in_channels = 3
const resolution = 224   # height and width of the input; divisible by 32 (five stride-2 stages)
const first = 16         # the stem and the first block
const w1 = 24
const w2 = 40
const w3 = 80
const w4 = 112
const w5 = 160
const final = 960        # the 1x1 expansion before the pool
const last = 1280        # the feature mix after it
const dropout_rate = 0.1
const s1 = 2             # the units' strides (the stem's is 2): an input smaller than 32 sets some to 1
const s2 = 2
const s3 = 2
const s4 = 1
const s5 = 2

# An inverted bottleneck: 1x1 expansion to Ci * e, depthwise k x k (the unit's stride in its first block), SE when
# the unit has it, 1x1 projection. SE squeezes Ci * e channels to the reference's make_divisible(Ci * e // 4, 8):
# with v = Ci * e // 4, r = (v + 4) // 8 * 8 rounds v to the nearest multiple of 8, and 8 is added when r is more
# than 10% below v (10 r < 9 v; the `// 1000000` term is 1 exactly then, for any width below a million).
block MB[Ci, H, W](x: [Ci, H, W], C, s, act, se) -> [C, H // s, W // s] {
  param k: [3, 5, 7]
  param e: [3, 4, 6]
  h = x >> conv(Ci * e, k=1, bias=off) >> batchnorm >> activation(act)
  dw = h >> conv(Ci * e, k=k, stride=s, pad=(k - 1) // 2, groups=Ci * e, bias=off) >> batchnorm >> activation(act)
  gated = dw * (dw >> global_avg_pool
                >> linear((Ci * e // 4 + 4) // 8 * 8
                          + 8 * ((9 * (Ci * e // 4) - 10 * ((Ci * e // 4 + 4) // 8 * 8) + 999999) // 1000000))
                >> relu >> linear(Ci * e) >> hardsigmoid) if se == 1 else dw
  return gated >> conv(C, k=1, bias=off) >> batchnorm
}

# A unit: the first block changes width and stride, the others keep them and add their input (identity shortcut).
# The unit's output is block d: blocks past it are computed by no genome's output, so their genes are inactive.
block Unit[Ci, H, W](x: [Ci, H, W], C, s, act, se) -> [C, H // s, W // s] {
  param d: [2, 3, 4]
  b1 = MB(x=x, C=C, s=s, act=act, se=se)
  b2 = MB(x=b1, C=C, s=1, act=act, se=se)
  o2 = b1 + b2
  b3 = MB(x=o2, C=C, s=1, act=act, se=se)
  o3 = o2 + b3
  b4 = MB(x=o3, C=C, s=1, act=act, se=se)
  o4 = o3 + b4
  return o4 if d == 4 else (o3 if d == 3 else o2)
}

network classifier(x: [in_channels, resolution, resolution]) -> [classes] {
  stem = x >> conv(first, k=3, stride=2, pad=1, bias=off) >> batchnorm >> hardswish
  b0 = stem >> conv(first, k=3, pad=1, groups=first, bias=off) >> batchnorm >> relu
       >> conv(first, k=1, bias=off) >> batchnorm
  r0 = stem + b0
  u1 = Unit(x=r0, C=w1, s=s1, act=relu, se=0)
  u2 = Unit(x=u1, C=w2, s=s2, act=relu, se=1)
  u3 = Unit(x=u2, C=w3, s=s3, act=hardswish, se=0)
  u4 = Unit(x=u3, C=w4, s=s4, act=hardswish, se=1)
  u5 = Unit(x=u4, C=w5, s=s5, act=hardswish, se=1)
  return u5 >> conv(final, k=1, bias=off) >> batchnorm >> hardswish >> global_avg_pool
         >> linear(last, bias=off) >> hardswish >> dropout(dropout_rate) >> linear(classes)
}
