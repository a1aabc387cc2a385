"""Reference networks of the three classic NAS spaces, in plain PyTorch (no pbtnas imports).

They are the ground truth the `.nas` versions (spaces/nb201.nas, darts.nas, ofa_mbv3.nas) are tested against:
parameter counts, shapes, numerics. Written from the papers and from the architecture of the public reference code
(D-X-Y/AutoDL-Projects, quark0/darts, mit-han-lab/once-for-all), not copied from it.

NAS-Bench-201 (Dong and Yang, ICLR 2020), `nb201`
    Stem conv3x3(3 -> C, no bias) + BN; three stages of N cells at C, 2C, 4C with a residual reduction block between
    stages; BN + ReLU; global average pool; linear. A cell has nodes 0..3; node j sums op(node i) over i < j, edges in
    the order 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2; the cell's output is node 3. Ops: `none` (zeros of the input's
    shape), `skip_connect` (identity: every cell keeps C), `nor_conv_1x1` / `nor_conv_3x3` (ReLU, conv without
    bias, BN), `avg_pool_3x3` (stride 1, pad 1, `count_include_pad=False`; no 1x1 preprocessing, as C_in == C_out).
    The reduction block is ResNet's basic block: ReLU-conv3x3(stride 2)-BN, ReLU-conv3x3-BN, plus a shortcut of
    avg-pool 2x2 then conv1x1 (no bias, no BN).

    BatchNorm: the benchmark's trained networks (`TinyNetwork` with `InferCell`) use the cell's defaults
    affine=True, track_running_stats=True everywhere (the affine=False / no-running-stats variants belong to the
    *search* cells of the weight-sharing baselines). Affine BN adds 2 parameters per channel, which is part of the
    published sizes; running statistics are buffers, not parameters. Chosen here: affine=True,
    track_running_stats=True for every BN. The convolutions have no bias (the benchmark's code version of 2020;
    later versions write `bias=not affine`, which is the same with affine=True).
    With these choices the CIFAR-10 networks span 73,306 (all none / skip / pool) to 1,531,546 (all nor_conv_3x3)
    parameters, the 0.073306 to 1.531546 MB range of the benchmark's published per-architecture data; with
    affine=False BN every conv edge would lose its 2 * C scale and shift and the maximum would not match.

DARTS (Liu et al., ICLR 2019), `darts` (the evaluation network `NetworkCIFAR`)
    Stem conv3x3(3 -> 3C, no bias) + BN. `layers` cells; cells at layers//3 and 2*layers//3 are reduction cells
    that double C. Each cell preprocesses its two inputs (the outputs of the two previous cells) to C channels with
    ReLU-conv1x1-BN, except that the older input goes through FactorizedReduce when the previous cell reduced.
    Four intermediate nodes, each the sum of two (op, input) pairs; the output is the concat of nodes 2..5 (4C
    channels). In a reduction cell, ops on inputs 0 and 1 have stride 2. Ops: sep_conv kxk = twice (ReLU, depthwise
    kxk, pointwise 1x1, BN), the first with the stride; dil_conv kxk = ReLU, depthwise kxk dilation 2, pointwise,
    BN; max/avg pool 3x3 (avg with `count_include_pad=False`); skip_connect = identity or, with stride 2,
    FactorizedReduce (ReLU, two stride-2 1x1 convs, the second on the input shifted by one pixel, concat, BN).
    Every BN is affine (the evaluation network passes affine=True; affine=False is the search network's), every conv
    has no bias. Global average pool and a linear classifier. Auxiliary head off, drop path off. DARTS-V2 at C=36,
    20 layers has 3,349,342 parameters, the paper's "3.3 M" for CIFAR-10 (auxiliary head excluded).

Once-for-All MobileNetV3 (Cai et al., ICLR 2020), `ofa_mbv3` (a subnet of `OFAMobileNetV3`)
    First conv 3x3 stride 2 (3 -> 16) + BN + h-swish; a first block MBConv(16 -> 16, k3, expand 1, ReLU, no SE)
    with identity shortcut; five units of up to 4 blocks, widths 24, 40, 80, 112, 160, strides 2, 2, 2, 1, 2,
    activations ReLU, ReLU, h-swish, h-swish, h-swish, SE in units 2, 4, 5; the first d blocks of a unit are active.
    A block is an inverted bottleneck: 1x1 expand to mid = make_divisible(round(C_in * e), 8) + BN + act, depthwise
    kxk (pad k//2, the unit's stride in the first block) + BN + act, SE (if the unit has it), 1x1 project + BN; an
    identity shortcut when stride 1 and C_in == C_out. SE: global average pool, 1x1 conv (with bias) to
    make_divisible(mid // 4, 8), ReLU, 1x1 conv (with bias) back to mid, h-sigmoid, times the input. Then final
    expand 1x1 to 960 + BN + h-swish, global average pool, feature mix 1x1 to 1280 (no bias, no BN) + h-swish,
    dropout, linear (with bias). Widths scale by `width_mult` through make_divisible(., 8). Every BN is affine.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

# ---- NAS-Bench-201 --------------------------------------------------------------------------------------------

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NB201_EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (to, from), the benchmark's genotype order


def relu_conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, pad: int = 0, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, c_out, k, stride, pad, dilation, bias=False), nn.BatchNorm2d(c_out))


class Zeros(nn.Module):
    """NAS-Bench-201's `none`: zeros of the input's shape (the edge contributes nothing but still exists)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


def _nb201_op(name: str, c: int) -> nn.Module:
    if name == "none":
        return Zeros()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return relu_conv_bn(c, c, 1)
    if name == "nor_conv_3x3":
        return relu_conv_bn(c, c, 3, pad=1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NAS-Bench-201 op {name!r}; expected one of {NB201_OPS}")


class NB201Cell(nn.Module):
    def __init__(self, genotype: Sequence[str], c: int):
        super().__init__()
        if len(genotype) != len(NB201_EDGES):
            raise ValueError(f"a NAS-Bench-201 genotype has {len(NB201_EDGES)} edge ops, got {len(genotype)}")
        self.edges = nn.ModuleList(_nb201_op(name, c) for name in genotype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for to in (1, 2, 3):
            nodes.append(sum(op(nodes[src]) for (dst, src), op in zip(NB201_EDGES, self.edges) if dst == to))
        return nodes[3]


class ResNetBasicBlock(nn.Module):
    """The stride-2 block between NAS-Bench-201 stages."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = relu_conv_bn(c_in, c_out, 3, stride=2, pad=1)
        self.conv_b = relu_conv_bn(c_out, c_out, 3, pad=1)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    def __init__(self, genotype: Sequence[str], C: int = 16, N: int = 5, num_classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers: list[nn.Module] = []
        c = C
        for stage in range(3):
            if stage > 0:
                layers.append(ResNetBasicBlock(c, 2 * c))
                c *= 2
            layers.extend(NB201Cell(genotype, c) for _ in range(N))
        self.cells = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU())
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.cells(self.stem(x)))
        return self.classifier(x.mean(dim=(2, 3)))


def nb201(genotype: Sequence[str], C: int = 16, N: int = 5, num_classes: int = 10) -> NB201Network:
    return NB201Network(genotype, C, N, num_classes)


def nb201_param_formula(genotype: Sequence[str], C: int = 16, N: int = 5, num_classes: int = 10) -> int:
    """The same count written out by hand, to check the module against arithmetic rather than against itself."""
    per_op = {"none": lambda c: 0, "skip_connect": lambda c: 0, "avg_pool_3x3": lambda c: 0,
              "nor_conv_1x1": lambda c: c * c + 2 * c, "nor_conv_3x3": lambda c: 9 * c * c + 2 * c}
    total = 27 * C + 2 * C  # stem conv + BN
    c = C
    for stage in range(3):
        if stage > 0:
            total += 9 * c * 2 * c + 2 * 2 * c + 9 * (2 * c) ** 2 + 2 * 2 * c + c * 2 * c  # conv_a, conv_b, shortcut
            c *= 2
        total += N * sum(per_op[name](c) for name in genotype)
    return total + 2 * c + c * num_classes + num_classes  # head BN, classifier


# ---- DARTS ----------------------------------------------------------------------------------------------------

DARTS_OPS = ("sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5", "max_pool_3x3", "avg_pool_3x3",
             "skip_connect")

# DARTS-V2 (second-order), the genotype of the paper's CIFAR-10 result: (op, input) per edge, two per node.
DARTS_V2_NORMAL = [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
                   ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)]
DARTS_V2_REDUCE = [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
                   ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)]


class FactorizedReduce(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


def sep_conv(c: int, k: int, stride: int) -> nn.Sequential:
    pad = k // 2
    return nn.Sequential(
        nn.ReLU(), nn.Conv2d(c, c, k, stride, pad, groups=c, bias=False), nn.Conv2d(c, c, 1, bias=False),
        nn.BatchNorm2d(c),
        nn.ReLU(), nn.Conv2d(c, c, k, 1, pad, groups=c, bias=False), nn.Conv2d(c, c, 1, bias=False),
        nn.BatchNorm2d(c))


def dil_conv(c: int, k: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, k, stride, k - 1, dilation=2, groups=c, bias=False),
                         nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))


def _darts_op(name: str, c: int, stride: int) -> nn.Module:
    if name in ("sep_conv_3x3", "sep_conv_5x5"):
        return sep_conv(c, int(name[-1]), stride)
    if name in ("dil_conv_3x3", "dil_conv_5x5"):
        return dil_conv(c, int(name[-1]), stride)
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride, 1, count_include_pad=False)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    raise ValueError(f"unknown DARTS op {name!r}; expected one of {DARTS_OPS}")


def check_darts_genotype(genotype: Sequence[tuple[str, int]]) -> None:
    if len(genotype) != 8:
        raise ValueError(f"a DARTS cell genotype has 8 (op, input) pairs, got {len(genotype)}")
    for node in range(4):
        (_, a), (_, b) = genotype[2 * node], genotype[2 * node + 1]
        if not (0 <= a < node + 2 and 0 <= b < node + 2) or a == b:
            raise ValueError(f"node {node + 2} needs two distinct inputs among 0..{node + 1}, got {a} and {b}")


class DartsCell(nn.Module):
    def __init__(self, genotype: Sequence[tuple[str, int]], c_pp: int, c_p: int, c: int, reduction: bool,
                 reduction_prev: bool):
        super().__init__()
        check_darts_genotype(genotype)
        self.pre0 = FactorizedReduce(c_pp, c) if reduction_prev else relu_conv_bn(c_pp, c, 1)
        self.pre1 = relu_conv_bn(c_p, c, 1)
        self.inputs = [i for _, i in genotype]
        self.edges = nn.ModuleList(_darts_op(name, c, 2 if reduction and i < 2 else 1) for name, i in genotype)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for node in range(4):
            a, b = 2 * node, 2 * node + 1
            states.append(self.edges[a](states[self.inputs[a]]) + self.edges[b](states[self.inputs[b]]))
        return torch.cat(states[2:], dim=1)


class DartsNetwork(nn.Module):
    def __init__(self, normal: Sequence[tuple[str, int]], reduce: Sequence[tuple[str, int]], C: int = 36,
                 layers: int = 20, num_classes: int = 10):
        super().__init__()
        stem = 3 * C
        self.stem = nn.Sequential(nn.Conv2d(3, stem, 3, padding=1, bias=False), nn.BatchNorm2d(stem))
        c_pp, c_p, c = stem, stem, C
        cells, reduction_prev = [], False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c *= 2
            cells.append(DartsCell(reduce if reduction else normal, c_pp, c_p, c, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, 4 * c
        self.cells = nn.ModuleList(cells)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(s1.mean(dim=(2, 3)))


def darts(normal: Sequence[tuple[str, int]], reduce: Sequence[tuple[str, int]], C: int = 36, layers: int = 20,
          num_classes: int = 10) -> DartsNetwork:
    return DartsNetwork(normal, reduce, C, layers, num_classes)


def darts_param_formula(normal: Sequence[tuple[str, int]], reduce: Sequence[tuple[str, int]], C: int = 36,
                        layers: int = 20, num_classes: int = 10) -> int:
    """The DARTS evaluation network's parameter count by arithmetic, independent of the module above."""
    def op(name: str, c: int, stride: int) -> int:
        if name.startswith("sep_conv"):
            k = int(name[-1])
            return 2 * (k * k * c + c * c + 2 * c)
        if name.startswith("dil_conv"):
            k = int(name[-1])
            return k * k * c + c * c + 2 * c
        if name == "skip_connect" and stride == 2:
            return c * c + 2 * c  # two halves c * c/2 each, BN over c
        return 0  # pools, identity

    stem = 3 * C
    total = 27 * stem + 2 * stem
    c_pp, c_p, c = stem, stem, C
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        if reduction:
            c *= 2
        # preprocess0 is FactorizedReduce (two c_pp x c/2 halves + BN) after a reduction, else ReLUConvBN 1x1
        # (c_pp x c + BN): the same count, so whether the previous cell reduced does not enter.
        total += c_pp * c + 2 * c
        total += c_p * c + 2 * c
        total += sum(op(name, c, 2 if reduction and inp < 2 else 1) for name, inp in (reduce if reduction else normal))
        c_pp, c_p = c_p, 4 * c
    return total + c_p * num_classes + num_classes


# ---- Once-for-All MobileNetV3 ---------------------------------------------------------------------------------

OFA_KERNELS = (3, 5, 7)
OFA_EXPANDS = (3, 4, 6)
OFA_DEPTHS = (2, 3, 4)
OFA_UNITS = (  # (width, stride, activation, squeeze-excite) of the five searchable units
    (24, 2, "relu", False), (40, 2, "relu", True), (80, 2, "h_swish", False), (112, 1, "h_swish", True),
    (160, 2, "h_swish", True))
OFA_MAX_DEPTH = 4


def make_divisible(v: float, divisor: int = 8) -> int:
    """The MobileNet rounding: to the nearest multiple of `divisor`, at least `divisor`, and never 10% below `v`."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def _act(kind: str) -> nn.Module:
    return nn.ReLU() if kind == "relu" else nn.Hardswish()


class SqueezeExcite(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        mid = make_divisible(c // 4, 8)
        self.reduce = nn.Conv2d(c, mid, 1)
        self.expand = nn.Conv2d(mid, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = x.mean(dim=(2, 3), keepdim=True)
        return x * F.hardsigmoid(self.expand(F.relu(self.reduce(gate))))


class MBConv(nn.Module):
    def __init__(self, c_in: int, c_out: int, k: int, stride: int, expand: int, act: str, se: bool):
        super().__init__()
        mid = make_divisible(round(c_in * expand), 8) if expand != 1 else c_in
        self.expand = (nn.Sequential(nn.Conv2d(c_in, mid, 1, bias=False), nn.BatchNorm2d(mid), _act(act))
                       if expand != 1 else nn.Identity())
        depthwise: list[nn.Module] = [nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False),
                                      nn.BatchNorm2d(mid), _act(act)]
        if se:
            depthwise.append(SqueezeExcite(mid))
        self.depthwise = nn.Sequential(*depthwise)
        self.project = nn.Sequential(nn.Conv2d(mid, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y


def check_ofa_genotype(ks: Sequence[int], es: Sequence[int], ds: Sequence[int]) -> None:
    n = len(OFA_UNITS) * OFA_MAX_DEPTH
    if len(ks) != n or len(es) != n or len(ds) != len(OFA_UNITS):
        raise ValueError(f"OFA needs {n} kernels, {n} expansions and {len(OFA_UNITS)} depths, "
                         f"got {len(ks)}, {len(es)}, {len(ds)}")
    for values, allowed, what in ((ks, OFA_KERNELS, "kernel"), (es, OFA_EXPANDS, "expansion"),
                                  (ds, OFA_DEPTHS, "depth")):
        bad = [v for v in values if v not in allowed]
        if bad:
            raise ValueError(f"OFA {what} must be one of {allowed}, got {bad[0]}")


class OFAMobileNetV3(nn.Module):
    def __init__(self, ks: Sequence[int], es: Sequence[int], ds: Sequence[int], width_mult: float = 1.0,
                 num_classes: int = 1000, dropout: float = 0.1):
        super().__init__()
        check_ofa_genotype(ks, es, ds)
        w = lambda c: make_divisible(c * width_mult, 8)  # noqa: E731
        c0 = w(16)
        self.first_conv = nn.Sequential(nn.Conv2d(3, c0, 3, 2, 1, bias=False), nn.BatchNorm2d(c0), nn.Hardswish())
        blocks: list[nn.Module] = [MBConv(c0, w(16), 3, 1, 1, "relu", False)]
        c = w(16)
        for unit, (width, stride, act, se) in enumerate(OFA_UNITS):
            for i in range(ds[unit]):  # blocks past the depth are inactive: not built
                b = unit * OFA_MAX_DEPTH + i
                blocks.append(MBConv(c, w(width), ks[b], stride if i == 0 else 1, es[b], act, se))
                c = w(width)
        self.blocks = nn.Sequential(*blocks)
        final, last = w(960), w(1280)
        self.final_expand = nn.Sequential(nn.Conv2d(c, final, 1, bias=False), nn.BatchNorm2d(final), nn.Hardswish())
        self.feature_mix = nn.Sequential(nn.Conv2d(final, last, 1, bias=False), nn.Hardswish())
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.final_expand(self.blocks(self.first_conv(x)))
        x = self.feature_mix(x.mean(dim=(2, 3), keepdim=True))
        return self.classifier(x.flatten(1))


def ofa_mbv3(ks: Sequence[int], es: Sequence[int], ds: Sequence[int], width_mult: float = 1.0,
             num_classes: int = 1000, resolution: int = 224) -> OFAMobileNetV3:
    """`resolution` is checked, not stored: the network is fully convolutional up to the global pool, so its
    parameters do not depend on it, but the five stride-2 stages need a multiple of 32 for exact halving."""
    if resolution <= 0 or resolution % 32:
        raise ValueError(f"OFA MobileNetV3 halves the resolution five times; {resolution} is not a multiple of 32")
    return OFAMobileNetV3(ks, es, ds, width_mult, num_classes)


def ofa_param_formula(ks: Sequence[int], es: Sequence[int], ds: Sequence[int], width_mult: float = 1.0,
                      num_classes: int = 1000) -> int:
    """The OFA subnet's parameter count by arithmetic, independent of the modules above."""
    w = lambda c: make_divisible(c * width_mult, 8)  # noqa: E731

    def mbconv(c_in: int, c_out: int, k: int, e: int, se: bool) -> int:
        mid = make_divisible(round(c_in * e), 8) if e != 1 else c_in
        n = (c_in * mid + 2 * mid) if e != 1 else 0
        n += k * k * mid + 2 * mid
        if se:
            s = make_divisible(mid // 4, 8)
            n += mid * s + s + s * mid + mid
        return n + mid * c_out + 2 * c_out

    c0 = w(16)
    total = 27 * c0 + 2 * c0 + mbconv(c0, w(16), 3, 1, False)
    c = w(16)
    for unit, (width, _, _, se) in enumerate(OFA_UNITS):
        for i in range(ds[unit]):
            b = unit * OFA_MAX_DEPTH + i
            total += mbconv(c, w(width), ks[b], es[b], se)
            c = w(width)
    final, last = w(960), w(1280)
    return total + c * final + 2 * final + final * last + last * num_classes + num_classes
