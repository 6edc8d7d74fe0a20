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
