space cells

options CONVS[H, W](C): [C, H, W] -> [C, H, W] {
  conv3 = conv(C, k=3, pad=1)
  conv5 = conv(C, k=5, pad=2)
}

options POOLS[H, W](C): [C, H, W] -> [C, H, W] {
  max = max_pool(3, stride=1, pad=1)
  avg = avg_pool(3, stride=1, pad=1)
}

network classifier(x: [8, 8, 8]) -> [10] {
  slot a: CONVS(8) tied edge
  slot b: POOLS(8) tied edge
  h = x >> a >> b
  return h >> global_avg_pool >> linear(10)
}
