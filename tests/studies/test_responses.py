"""What the responses study measures is what the paper's Figure 7 plots (the report judges the
claim itself only on nets trained long enough: tests/report/test_report_build.py).

Figure 7: the standard deviation of each 3x3 layer's response, after BN and before the addition
and the ReLU. Eval-mode BN whose running statistics are exactly those of its input on the
measured images outputs, per channel, gamma * (normalised input) + beta: with beta = 0 and one
gamma per layer, each layer's response std is that gamma, whatever the layers before it do. Read
after the addition or before the BN, it would not be.
"""

import pytest
import torch
from torch import nn

from reslab import models
from reslab.studies.probes import layer_responses


def _net_with_known_responses(name: str) -> tuple[models.ResNet, list[float], list]:
    torch.manual_seed(0)
    net = models.create(name, in_channels=1, num_classes=10)
    points = net.response_modules()
    gammas = [0.2 + 0.05 * i for i in range(len(points))]
    with torch.no_grad():
        for (_, bn), gamma in zip(points, gammas):
            bn.weight.fill_(gamma)
            bn.bias.zero_()
    images = torch.randn(512, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    # running statistics = the statistics of each BN's input over exactly these images
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # a cumulative average: one batch gives its own statistics
    with torch.no_grad():
        net.train()(images)
    return net, gammas, [(images, torch.zeros(512, dtype=torch.long))]


@pytest.mark.parametrize("name", ["resnet20", "plain20", "resnet32"])
def test_each_response_is_read_after_bn_and_before_the_addition(name):
    net, gammas, loader = _net_with_known_responses(name)
    measured = layer_responses(net, loader)
    assert len(measured) == len(gammas) == 1 + 2 * 3 * (int(name[-2:]) - 2) // 6
    # BN keeps an unbiased running variance: the response std is gamma * sqrt((N - 1) / N)
    expected = [g * (511 / 512) ** 0.5 for g in gammas]
    assert measured == pytest.approx(expected, rel=2e-3)
