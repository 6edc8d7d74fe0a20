"""The cited numbers agree with each other where they can be checked."""

from __future__ import annotations

import pytest

from reslab import reference


@pytest.mark.parametrize("name", sorted(reference.CIFAR10_TABLE6))
def test_cifar_table6_rows(name):
    row = reference.CIFAR10_TABLE6[name]
    n = (int(name.removeprefix("resnet")) - 2) // 6
    assert 6 * n + 2 == int(name.removeprefix("resnet"))  # 6n+2 layers
    assert f"{row.params / 1e6:g}M" == row.params_label
    assert 6.0 < row.paper_error < 9.0 and 6.0 < row.reproduction_error < 9.0


def test_resnet110_mean_is_worse_than_its_best():
    mean, std = reference.RESNET110_MEAN_STD_5RUNS
    assert reference.CIFAR10_TABLE6["resnet110"].paper_error < mean and std > 0


@pytest.mark.parametrize("name", sorted(reference.IMAGENET_BLOCKS))
def test_imagenet_block_counts_give_the_depth(name):
    block, counts = reference.IMAGENET_BLOCKS[name]
    layers_per_block = 2 if block == "basic" else 3
    assert layers_per_block * sum(counts) + 2 == int(name.removeprefix("resnet"))
    assert name in reference.IMAGENET_FLOPS and name in reference.TORCHVISION_RESNETS


def test_torchvision_param_counts():
    params = {k: v.params for k, v in reference.TORCHVISION_RESNETS.items()}
    assert params == {
        "resnet18": 11_689_512,
        "resnet34": 21_797_672,
        "resnet50": 25_557_032,
        "resnet101": 44_549_160,
        "resnet152": 60_192_808,
    }


def test_imagenet_table2_shows_degradation_and_its_fix():
    top1 = reference.IMAGENET_TOP1_10CROP
    assert top1["plain34"] > top1["plain18"]
    assert top1["resnet34"] < top1["resnet18"]
    assert top1["resnet34"] == top1["resnet34_A"]
    assert set(reference.IMAGENET_TOP5_10CROP) <= set(top1)


def test_flop_convention():
    macs = reference.RESNET50_IMAGENET_FLOPS / reference.FLOPS_PER_MAC
    assert macs == pytest.approx(reference.TORCHVISION_RESNETS["resnet50"].gflops * 1e9, rel=0.01)
