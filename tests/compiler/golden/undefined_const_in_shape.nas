space undef

const channels = 3

network classifier(x: [chanels, 8, 8]) -> [10] {
  return x >> global_avg_pool >> linear(10)
}
