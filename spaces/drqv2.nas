# The DrQ-v2 search space of PBT-NAS (paper section 4.3; reference: the authors' `*run_*` RL configs).
#
# 36 genes over the three networks of a DrQ-v2 agent: the actor (10 genes), the critic with its two Q networks
# (18) and the pixel encoder (8). Genome order follows the reference: actor 0-9, critic 10-27, encoder 28-35.
# Size: 2^53 * 512,000 ~ 4.6117e21 (the paper's figure).
#
# The task sets `action_dim` per environment (e.g. --set action_dim=12 for quadruped). The target critic is a copy
# of `critic` kept by the RL task; every critic gene owns the same keys in it.
#
# Decisions where the reference code has quirks (see docs/spaces.md):
# - spectral-norm genes are [off, on] (the reference's None / spectral);
# - layers with spectral norm on get the orthogonal initialisation too (the reference's in-place init misses them).
# - spectral norm is torch's parametrization one (`sn_style=parametrization`: u from v, then v from u, 15 warm-up
#   iterations on the initial weights), as the reference's RL code uses torch.nn.utils.parametrizations.spectral_norm.

space drqv2

const action_dim = 6
const frames = 3
const obs_size = 84
const filters = 32
const conv_out = (obs_size - 3) // 2 + 1       # 41: the first conv has stride 2 and no padding
const repr_dim = filters * conv_out * conv_out  # 53,792
const hidden = 1024

values ACT = [id, tanh, relu, swish]
values FEATURE = [25, 50, 100, 150]

init linear = orthogonal(gain=1, bias=0)
init conv = orthogonal(gain=relu, bias=0)

# A searchable 1024 -> 1024 layer of the actor or a Q network.
options LINEAR4(act, sn): [hidden] -> [hidden] {
  id          = identity
  linear      = linear(hidden, sn=sn, sn_style=parametrization) >> activation(act)
  residual_05 = residual(layernorm >> linear(hidden // 2, sn=sn, sn_style=parametrization) >> activation(act)
                         >> linear(hidden, sn=sn, sn_style=parametrization))
  residual_2  = residual(layernorm >> linear(2 * hidden, sn=sn, sn_style=parametrization) >> activation(act)
                         >> linear(hidden, sn=sn, sn_style=parametrization))
}

# A searchable 32 -> 32 conv layer of the encoder ("same" padding).
options CONV10[H, W](act, sn): [filters, H, W] -> [filters, H, W] {
  id         = identity
  conv_3     = conv(filters, k=3, pad=1, sn=sn, sn_style=parametrization) >> activation(act)
  conv_5     = conv(filters, k=5, pad=2, sn=sn, sn_style=parametrization) >> activation(act)
  conv_7     = conv(filters, k=7, pad=3, sn=sn, sn_style=parametrization) >> activation(act)
  residual_3 = residual(conv(filters, k=3, pad=1, sn=sn, sn_style=parametrization) >> activation(act)
                        >> conv(filters, k=3, pad=1, sn=sn, sn_style=parametrization))
               >> activation(act)
  residual_5 = residual(conv(filters, k=5, pad=2, sn=sn, sn_style=parametrization) >> activation(act)
                        >> conv(filters, k=5, pad=2, sn=sn, sn_style=parametrization))
               >> activation(act)
  residual_7 = residual(conv(filters, k=7, pad=3, sn=sn, sn_style=parametrization) >> activation(act)
                        >> conv(filters, k=7, pad=3, sn=sn, sn_style=parametrization))
               >> activation(act)
  sep_conv_3 = conv(filters, k=3, pad=1, groups=filters, sn=sn, sn_style=parametrization)
               >> conv(filters, k=1, sn=sn, sn_style=parametrization) >> activation(act)
  sep_conv_5 = conv(filters, k=5, pad=2, groups=filters, sn=sn, sn_style=parametrization)
               >> conv(filters, k=1, sn=sn, sn_style=parametrization) >> activation(act)
  sep_conv_7 = conv(filters, k=7, pad=3, groups=filters, sn=sn, sn_style=parametrization)
               >> conv(filters, k=1, sn=sn, sn_style=parametrization) >> activation(act)
}

network actor(features: [repr_dim]) -> [action_dim] {
  slot policy1: LINEAR4(act1, sn)
  slot policy2: LINEAR4(act2, sn)
  slot policy3: LINEAR4(act3, sn)
  param act0: ACT
  param act1: ACT
  param act2: ACT
  param act3: ACT
  param feature_dim: FEATURE     # a dimension gene: it owns every layer it shapes (trunk and policy0)
  param trunk_act: ACT
  param sn: [off, on]            # spectral norm for policy0..3 (not the trunk, not the head)

  trunk = features >> linear(feature_dim) >> layernorm >> activation(trunk_act)
  policy0 = trunk >> linear(hidden, sn=sn, sn_style=parametrization) >> activation(act0)
  h = policy0 >> policy1 >> policy2 >> policy3
  mean = h >> linear(action_dim) >> tanh
  return mean
}

# One Q network of the critic: genes interleaved per hidden layer as in the reference, then the first activation.
block QNet[D](sn, x: [D]) -> [1] {
  slot layer1: LINEAR4(act1, sn)
  param act1: ACT
  slot layer2: LINEAR4(act2, sn)
  param act2: ACT
  slot layer3: LINEAR4(act3, sn)
  param act3: ACT
  param act0: ACT

  layer0 = x >> linear(hidden, sn=sn, sn_style=parametrization) >> activation(act0)
  h = layer0 >> layer1 >> layer2 >> layer3
  head = h >> linear(1)
  return head
}

network critic(features: [repr_dim], action: [action_dim]) -> ([1], [1]) {
  trunk = features >> linear(feature_dim) >> layernorm >> activation(trunk_act)
  q1 = QNet(sn=sn_q1, x=cat(trunk, action))
  q2 = QNet(sn=sn_q2, x=cat(trunk, action))
  param feature_dim: FEATURE     # owns the critic trunk and the first layer of both Q networks
  param trunk_act: ACT
  param sn_q1: [off, on]
  param sn_q2: [off, on]
  return (q1, q2)
}

network encoder(obs: [3 * frames, obs_size, obs_size]) -> [repr_dim] {
  slot convnet1: CONV10(act1, sn)
  slot convnet2: CONV10(act2, sn)
  slot convnet3: CONV10(act3, sn)
  param act0: ACT
  param act1: ACT
  param act2: ACT
  param act3: ACT
  param sn: [off, on]            # spectral norm for the whole encoder

  convnet0 = obs >> scale(mul=1 / 255, add=-0.5) >> conv(filters, k=3, stride=2, sn=sn, sn_style=parametrization)
             >> activation(act0)
  h = convnet0 >> convnet1 >> convnet2 >> convnet3
  return h >> flatten
}
