# MNIST-1D (Greydanus, 2020): 40-point signals of 10 classes. Three families of feature extractor compete: an MLP on
# the flattened signal, a 1-D CNN (translation-equivariant convolutions and pooling) and a small transformer on
# patches of the signal (tokens with learned positions). The gene `path` chooses the family; the genes of the other
# two are then inactive, so `pbtnas compile` counts the distinct architectures, not the genomes.

space mnist1d

const length = 40      # positions of a signal (one channel); the attention patches must divide it
const classes = 10
const features = 64    # what every extractor hands the classifier head

values ACT = [relu, gelu, tanh]

# An MLP of one or two hidden layers on the flattened signal: no notion of neighbouring positions.
block Dense(x: [1, length]) -> [features] {
  param width1: [64, 128, 256]
  param width2: [64, 128, 256]
  param act: ACT
  param depth: [1, 2]
  h1 = x >> flatten >> linear(width1) >> activation(act)
  h2 = h1 >> linear(width2) >> activation(act)
  return (h2 >> linear(features)) if depth == 2 else (h1 >> linear(features))
}

# Two conv1d stages that keep the length, each followed by a halving pool; the map is flattened for the head.
block Conv(x: [1, length]) -> [features] {
  param c1: [8, 16, 32]
  param k1: [3, 5, 7]
  param c2: [8, 16, 32]
  param k2: [3, 5, 7]
  param pool: [max, avg]
  param act: ACT
  s1 = x >> conv1d(c1, k=k1, pad=(k1 - 1) // 2) >> batchnorm1d >> activation(act)
  p1 = (s1 >> max_pool1d(2)) if pool == max else (s1 >> avg_pool1d(2))
  s2 = p1 >> conv1d(c2, k=k2, pad=(k2 - 1) // 2) >> batchnorm1d >> activation(act)
  p2 = (s2 >> max_pool1d(2)) if pool == max else (s2 >> avg_pool1d(2))
  return p2 >> flatten >> linear(features)
}

# A pre-norm transformer layer on [T, D]: `heads` must divide D for every option (the compiler proves it).
block Encoder[T, D](x: [T, D]) -> [T, D] {
  param heads: [1, 2, 4]
  param ratio: [1, 2]
  a = x + (x >> layernorm >> attention(heads))
  return a + (a >> layernorm >> linear(D * ratio) >> gelu >> linear(D))
}

# Patches of the signal as tokens: a stride-`patch` conv1d embeds each patch, transposed to [tokens, width].
block Tokens(x: [1, length]) -> [features] {
  param patch: [4, 5, 8]
  param width: [16, 32, 48]
  param second: [off, on]
  param pool: [mean, first]
  t = x >> conv1d(width, k=patch, stride=patch) >> transpose
  e = (t >> pos_embed) if pool == mean else (t >> cls_token >> pos_embed)
  l1 = Encoder(x=e)
  l2 = Encoder(x=l1)
  h = (l2 if second else l1) >> layernorm
  return ((h >> mean_tokens) if pool == mean else (h >> first_token)) >> linear(features)
}

network classifier(x: [1, length]) -> [classes] {
  param path: [dense, conv, tokens]
  param dropout: [0.0, 0.1, 0.2]
  dense = Dense(x=x)
  conv = Conv(x=x)
  tokens = Tokens(x=x)
  f = dense if path == dense else (conv if path == conv else tokens)
  return f >> relu >> dropout(dropout) >> linear(classes)
}
