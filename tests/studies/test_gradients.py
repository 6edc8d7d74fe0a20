"""The gradient metric compares like with like, and what it shows at initialisation and after the
first steps is what Yang et al. (ICLR 2019) predict for deep BN nets without shortcuts.

Random 8x8 inputs, 32 images a batch: the claims are about the architectures at
initialisation, so no dataset is needed; each test takes a few seconds on one thread.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from reslab import models
from reslab.studies.gradients import first_over_last
from reslab.studies.probes import (
    main_path_convs,
    relative_gradients,
    relative_gradients_during_training,
)

SEEDS = (0, 1, 2)


def _batches(seed: int, count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(32, 1, 8, 8, generator=g), torch.randint(0, 10, (32,), generator=g))
        for _ in range(count)
    ]


def _net(name: str, seed: int) -> models.ResNet:
    torch.manual_seed(seed)
    return models.create(name, in_channels=1, num_classes=10)


def _ratio_at_init(name: str, seed: int) -> float:
    return first_over_last(relative_gradients(_net(name, seed), _batches(100 + seed, 1))[1])


def test_the_metric_compares_conv_layers_only():
    names, values = relative_gradients(_net("resnet20", 0), _batches(1, 1))
    assert len(names) == len(values) == 19  # the 19 convs of ResNet-20; no classifier
    assert (names[0], names[-1]) == ("conv1", "layer3.2.conv2")  # the stem, the last conv
    # ImageNet nets: the projection shortcuts are not on the main path either
    assert len(main_path_convs(models.create("resnet18", num_classes=10))) == 17
    assert all(v > 0 and math.isfinite(v) for v in values)


def test_the_metric_is_the_angle_one_sgd_step_turns_each_conv():
    """A conv followed by BN computes the same function at any scale of its weights, so its
    gradient is orthogonal to W and a step only turns W: by lr * |grad W| / |W| radians. The
    metric is how fast each layer's function changes, comparable between the stem's 144 weights
    and the last conv's 36,864, which the raw gradient norm is not."""
    lr = 1e-3
    net = _net("plain20", 0)
    batch = _batches(3, 1)
    metric = relative_gradients(net, batch)[1]
    convs = [m for _, m in main_path_convs(net)]
    before = [m.weight.detach().double() for m in convs]
    net.zero_grad()
    F.cross_entropy(net.train()(batch[0][0]), batch[0][1]).backward()
    for m, w in zip(convs, before):
        g = m.weight.grad.double()
        cosine = float((g * w).sum() / (g.norm() * w.norm()))
        assert abs(cosine) < 1e-3  # orthogonal: the gradient does not change the scale
    with torch.no_grad():
        for m in convs:
            m.weight -= lr * m.weight.grad
    for m, w, rel in zip(convs, before, metric):
        after = m.weight.detach().double()
        cos = float((after * w).sum() / (after.norm() * w.norm()))
        angle = math.acos(min(1.0, cos))  # float64: cos is 1 - 5e-7 here
        assert angle == pytest.approx(math.atan(lr * rel), rel=0.02)


def test_at_init_deep_plain_bn_nets_grow_geometrically_towards_the_input_resnets_far_less():
    """Measured (3 seeds, this machine): first/last conv ratio plain-20 62-92, plain-32 420-540,
    plain-56 1.7e4-2.1e4 (about x1.16 per added layer, the same from 20 to 32 as from 32 to
    56); ResNet-20/32/56 24-35, 38-58, 76-97 (about x1.03 per layer)."""
    for seed in SEEDS:
        r = {n: _ratio_at_init(n, seed) for n in ("plain20", "plain32", "plain56", "resnet20",
                                                   "resnet32", "resnet56")}  # fmt: skip
        # the first conv's relative gradient exceeds the last conv's: growth towards the input
        assert r["plain56"] > 1000 and r["plain20"] > 1
        # with shortcuts the ratio stays far closer to 1
        for depth in (20, 32, 56):
            assert math.log(r[f"resnet{depth}"]) < math.log(r[f"plain{depth}"]) - math.log(2)
        assert r["plain56"] > 50 * r["resnet56"]

        # geometric: log(ratio) grows linearly with depth, at one rate from 20 to 32 and 32 to 56
        def rate(kind: str, a: int, b: int, r: dict[str, float] = r) -> float:
            return math.log(r[f"{kind}{b}"] / r[f"{kind}{a}"]) / (b - a)

        plain_early, plain_late = rate("plain", 20, 32), rate("plain", 32, 56)
        assert plain_early > 0.08 and plain_late > 0.08  # > x1.08 per layer
        assert 2 / 3 < plain_early / plain_late < 3 / 2
        assert rate("resnet", 20, 56) < plain_late / 3


def test_the_first_step_collapses_the_plain_nets_spread_not_the_residual_nets():
    """After one SGD step at lr 0.1 (the paper's rate, no warm-up) plain-56's ratio fell from
    ~2e4 to ~0.02-0.08, ResNet-56's from ~80 to ~45-57. How: the stem's relative gradient of
    ~1e3 makes that step ~100 times the stem's weights (measured x84 to x113), and a BN layer's
    relative gradient falls as the square of its weights' scale, so the stem then barely
    learns; ResNet-56's stem grows by about x1.1."""
    for seed in SEEDS:
        nets = {name: _net(name, seed) for name in ("plain56", "resnet56")}
        stems = {name: main_path_convs(net)[0][1] for name, net in nets.items()}
        before = {name: float(stem.weight.detach().norm()) for name, stem in stems.items()}
        along = {
            name: relative_gradients_during_training(
                net, _batches(100 + seed, 1), _batches(200 + seed, 1), [1]
            )
            for name, net in nets.items()
        }
        grew = {name: float(stems[name].weight.detach().norm()) / before[name] for name in nets}
        plain = [first_over_last(along["plain56"][k]) for k in (0, 1)]
        residual = [first_over_last(along["resnet56"][k]) for k in (0, 1)]
        assert plain[1] < plain[0] / 1000
        assert residual[0] / 3 < residual[1] < residual[0] * 3
        assert grew["plain56"] > 30 and grew["resnet56"] < 1.5
