# A small classifier whose head uses an op that does not exist.
space typo

const width = 8

network classifier(x: [1, 8, 8]) -> [10] {
  h = x >> conv(width, k=3, pad=1) >> batchnrom >> relu
  return h >> global_avg_pool >> linear(10)
}
