# The DrQ-v2 space over proprioceptive states instead of pixels: the same actor and critic genes as drqv2.nas
# (28 genes in the same order), with no encoder to search. Fast on a CPU: `--task rl --obs state`.
# The task sets `state_dim` and `action_dim` per environment; `hidden` defaults to 256 here (the paper's agents
# use 1024 on pixels: --set hidden=1024).

space drqv2_state

const state_dim = 24
const action_dim = 6
const repr_dim = state_dim
const hidden = 256

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

# States need no encoder; the network is kept so that the agent has the same three parts as on pixels.
network encoder(obs: [state_dim]) -> [state_dim] {
  return obs
}
