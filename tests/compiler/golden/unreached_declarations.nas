# A misspelt group name must not hide the mistakes inside the group that was meant, nor those of a group or block
# no network uses, nor a second mistake in a statement the first one stopped; the genes that statement reads are
# not "never used".
options STAGE[H, W](C): [C, H, W] -> [C, H, W] {
  a = conv(C, k=3, pad=1) >> frobnicate
  b = conv(C, k=3, pad=1, padding=1)
}

options UNUSED[H, W](C): [C, H, W] -> [C, H, W] {
  a = conv(C, k=3, pad=1) >> undefined_op(2)
}

block Unused[H, W](x: [4, H, W]) -> [4, H, W] {
  y = x >> relu
  return y >> wobble
}

network net(x: [4, 8, 8]) -> [2] {
  slot s: STAGEE(4)
  param act: [relu, tanh]
  param w: [2, 4]
  h = x >> s >> activation(act) >> flatten >> linear(w * undefined_const)
  return h >> linear(2)
}
