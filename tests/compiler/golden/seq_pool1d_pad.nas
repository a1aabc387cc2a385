# A 1-d pool padded by more than half its kernel: torch would refuse it only when the network runs.
space signal

network net(x: [4, 40]) -> [10] {
  return x >> avg_pool1d(3, pad=2) >> flatten >> linear(10)
}
