# A small image classifier for scikit-learn's 8x8 digits: the fast space of `pbtnas search --task classify`.
# Written as a new user would: two searchable stages of a CNN and a searchable head.

space digits

const width = 16        # channels of the stem and both stages
const classes = 10

values ACT = [relu, tanh, swish]

# Every stage option keeps the shape: C channels in, C channels out, same spatial size.
options STAGE[H, W](C, act): [C, H, W] -> [C, H, W] {
  skip     = identity
  conv3    = conv(C, k=3, pad=1) >> batchnorm >> activation(act)
  conv5    = conv(C, k=5, pad=2) >> batchnorm >> activation(act)
  dil3     = conv(C, k=3, pad=2, dilation=2) >> batchnorm >> activation(act)
  sep3     = conv(C, k=3, pad=1, groups=C) >> conv(C, k=1) >> batchnorm >> activation(act)
  residual = residual(conv(C, k=3, pad=1) >> batchnorm >> activation(act) >> conv(C, k=3, pad=1))
}

network classifier(x: [1, 8, 8]) -> [classes] {
  slot stage1: STAGE(width, act1)
  param act1: ACT
  param pool: [max, avg]
  slot stage2: STAGE(width, act2)
  param act2: ACT
  param dropout: [0.0, 0.1, 0.3]
  slot head: [width] -> [classes] {
    linear = linear(classes)
    mlp    = linear(2 * width) >> relu >> linear(classes)
  }

  stem = x >> conv(width, k=3, pad=1) >> batchnorm >> relu
  h1 = stem >> stage1
  down = (h1 >> max_pool(2)) if pool == max else (h1 >> avg_pool(2))
  h2 = down >> stage2
  pooled = h2 >> global_avg_pool >> dropout(dropout)
  return pooled >> head
}
