import pytest
import torch

from reslab import models, reference


def test_resnet50_flops_match_flop_counter_reference():
    with torch.device("meta"):
        model = models.create("resnet50")
    p_flops = models.count_flops(model, (3, 224, 224))
    assert p_flops == pytest.approx(reference.RESNET50_IMAGENET_FLOPS, rel=0.01)


@pytest.mark.parametrize("name", sorted(reference.TORCHVISION_RESNETS))
def test_imagenet_macs_match_torchvision(name):
    with torch.device("meta"):
        model = models.create(name)
    gmacs = models.count_flops(model, (3, 224, 224)) / reference.FLOPS_PER_MAC / 1e9
    # torchvision's GFLOPs column is multiply-adds; the paper's Table 1 rounds the same figure
    assert gmacs == pytest.approx(reference.TORCHVISION_RESNETS[name].gflops, rel=0.01)


def test_profile_resnet20():
    p = models.profile(models.create("resnet20"), batch_size=8)
    assert p.flops == pytest.approx(reference.RESNET20_CIFAR_FLOPS, rel=0.01)
    assert p.macs * 2 == p.flops
    assert p.depth == 20
    assert p.params == models.count_params(models.create("resnet20"))
    # activations grow with the batch
    p16 = models.profile(models.create("resnet20"), batch_size=16)
    assert 1.8 < p16.activation_bytes / p.activation_bytes < 2.2


def test_model_table_row():
    (row,) = [r for r in models.model_table("resnet56") if r.name == "resnet56"]
    assert row.depth == 56 and row.kind == "residual" and row.shortcut == "A"
    assert row.gflops == pytest.approx(0.251, rel=0.01)


@pytest.mark.parametrize("name", sorted(reference.IMAGENET_FLOPS))
def test_the_papers_table1_flops_are_multiply_adds(name):
    """Table 1's "FLOPs" are multiply-adds (Profile.macs), not the flop counter's FLOPs:
    within 2% of macs for the paper's v1 nets (stride on the first 1x1), 2x off flops."""
    with torch.device("meta"):
        model = models.create(name, stride_on="1x1")
    p = models.profile(model, (3, 224, 224))
    assert p.macs == pytest.approx(reference.IMAGENET_FLOPS[name], rel=0.02)
    assert p.flops == pytest.approx(2 * reference.IMAGENET_FLOPS[name], rel=0.02)
