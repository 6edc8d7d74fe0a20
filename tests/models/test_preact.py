"""Pre-activation nets compute what the authors' code computes (see the comment in ResNet)."""

import pytest
import torch
from torch import nn

from reslab import models, reference


def _norms_before_first_conv(model: nn.Module, x: torch.Tensor) -> int:
    """How many BN layers run between the stem conv and the first block's first conv."""
    calls: list[str] = []
    hooks = [
        m.register_forward_hook(lambda m, i, o, n=name: calls.append(n))
        for name, m in model.named_modules()
        if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))
    ]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    start, stop = calls.index("conv1"), calls.index("layer1.0.conv1")
    return sum(1 for n in calls[start:stop] if "bn" in n)


@pytest.mark.parametrize("name", ["preact_resnet18", "preact_resnet50", "preact_resnet110"])
def test_one_bn_relu_between_stem_and_first_block(name):
    model = models.create(name).eval()
    size = 32 if model.spec.family == "cifar" else 64
    assert _norms_before_first_conv(model, torch.randn(1, 3, size, size)) == 1


@pytest.mark.parametrize("name", ["preact_resnet110", "preact_resnet164", "preact_resnet18"])
def test_first_block_shortcut_carries_the_pre_activated_input(name):
    """With the residual branch zeroed, the first block passes on the stem's BN-ReLU output."""
    model = models.create(name, zero_init_residual=True).eval()
    if model.spec.block == "bottleneck":  # a projection: make it the identity on 16 of 64
        proj = model.layer1[0].downsample[0]
        nn.init.zeros_(proj.weight)
        proj.weight.data[:16, :16, 0, 0] = torch.eye(16)
    size = 32 if model.spec.family == "cifar" else 64
    x = torch.randn(2, 3, size, size)
    seen = []
    model.layer1[0].register_forward_hook(lambda m, i, o: seen.append(o.clone()))
    with torch.no_grad():
        model(x)
        stem = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    torch.testing.assert_close(seen[0][:, : stem.shape[1]], stem)
    assert (seen[0] >= 0).all()  # not the raw conv output


def test_preact_imagenet_params():
    # torchvision's resnet18 minus what pre-activation moves (a BN of width w has 2w params).
    # Out: two BNs per block on its output, 2 blocks a stage, 2*2*2*(64+128+256+512) = 7,680,
    # and the 3 projection BNs, 2*(128+256+512) = 1,792. In: a BN on each block's input except
    # the first block's, 2*(64+64+128+128+256+256+512) = 2,816; a middle BN per block,
    # 2*2*(64+128+256+512) = 3,840; and the final BN before pooling, 2*512 = 1,024.
    tv = reference.TORCHVISION_RESNETS["resnet18"].params
    with torch.device("meta"):
        model = models.create("preact_resnet18")
    assert models.count_params(model) == tv - 7_680 - 1_792 + 2_816 + 3_840 + 1_024
    assert isinstance(model.layer1[0].bn1, nn.Identity)
