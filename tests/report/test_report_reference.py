"""The cited numbers agree with each other where they can be checked."""

from __future__ import annotations

import pytest
import torch
import torchvision

from reslab import reference


@pytest.mark.parametrize("name", sorted(reference.CIFAR10_TABLE6))
def test_cifar_table6_params_are_those_of_the_nets_reslab_builds(name):
    """The paper prints 0.27M ... 19.4M: reslab's nets, counted, round to the same digits."""
    from reslab import models

    row = reference.CIFAR10_TABLE6[name]
    with torch.device("meta"):
        params = models.count_params(models.create(name, num_classes=10))
    printed = row.params_label.removesuffix("M")
    decimals = len(printed.partition(".")[2])
    assert round(params / 1e6, decimals) == float(printed), (params, row.params_label)
    assert row.params == pytest.approx(params, rel=0.03)  # what reports show beside it


def test_resnet110_mean_is_worse_than_its_best():
    mean, std = reference.RESNET110_MEAN_STD_5RUNS
    assert reference.CIFAR10_TABLE6["resnet110"].paper_error < mean and std > 0


@pytest.mark.parametrize("name", sorted(reference.IMAGENET_BLOCKS))
def test_imagenet_block_counts_give_the_depth(name):
    block, counts = reference.IMAGENET_BLOCKS[name]
    layers_per_block = 2 if block == "basic" else 3
    assert layers_per_block * sum(counts) + 2 == int(name.removeprefix("resnet"))
    assert name in reference.IMAGENET_FLOPS and name in reference.TORCHVISION_RESNETS


@pytest.mark.parametrize("name", sorted(reference.TORCHVISION_RESNETS))
def test_torchvision_numbers_are_torchvisions(name):
    """The cited parameter counts and GFLOPs, against torchvision's own models (installed with
    reslab): counted, and measured with torch's flop counter (2 FLOPs a multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    cited = reference.TORCHVISION_RESNETS[name]
    with torch.device("meta"):
        net = getattr(torchvision.models, name)(weights=None)
    assert sum(p.numel() for p in net.parameters()) == cited.params
    with FlopCounterMode(display=False) as counter, torch.device("meta"):
        net(torch.empty(1, 3, 224, 224))
    macs = counter.get_total_flops() / reference.FLOPS_PER_MAC
    assert macs / 1e9 == pytest.approx(cited.gflops, rel=2e-3)


def test_imagenet_table2_shows_degradation_and_its_fix():
    top1 = reference.IMAGENET_TOP1_10CROP
    assert top1["plain34"] > top1["plain18"]
    assert top1["resnet34"] < top1["resnet18"]
    assert top1["resnet34"] == top1["resnet34_A"]
    assert set(reference.IMAGENET_TOP5_10CROP) <= set(top1)


def test_flop_convention():
    macs = reference.RESNET50_IMAGENET_FLOPS / reference.FLOPS_PER_MAC
    assert macs == pytest.approx(reference.TORCHVISION_RESNETS["resnet50"].gflops * 1e9, rel=0.01)
