"""Weights in every layout people publish them in, through `load_weights` and through
`model.pretrained` in a training run: a torchvision .pth, a reslab run (final.safetensors),
and the community CIFAR checkpoints ({'best_prec1', 'state_dict'}, 'module.' prefixes, a
'linear' head, no num_batches_tracked buffers)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from reslab import models
from reslab.engine import train

from .conftest import OnDisk
from .steps import tiny


def _equal_states(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> list[str]:
    """Keys whose tensors differ (or that one side lacks)."""
    return sorted(
        k for k in a.keys() | b.keys() if k not in a or k not in b or not torch.equal(a[k], b[k])
    )


def _scrambled(name: str, **kwargs) -> torch.nn.Module:
    """A fresh reslab model with non-trivial BatchNorm statistics."""
    model = models.create(name, **kwargs)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.num_batches_tracked.fill_(7)
    return model.eval()


def community_cifar_checkpoint(model: torch.nn.Module, path: Path) -> Path:
    """``model`` saved as the widely used PyTorch CIFAR reproduction saves its ResNets."""
    state = {}
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue  # that project's checkpoints predate these buffers
        if key.startswith("fc."):
            key = "linear." + key[len("fc.") :]
        state["module." + key] = value.clone()
    torch.save({"best_prec1": 91.0, "state_dict": state}, path)
    return path


def test_load_weights_from_a_torchvision_pth(tmp_path):
    import torchvision

    reference = torchvision.models.resnet18(num_classes=10).eval()
    for m in reference.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_var.uniform_(0.5, 2.0)
    path = tmp_path / "resnet18-f37072fd.pth"
    torch.save(reference.state_dict(), path)
    model = models.create("resnet18", num_classes=10).eval()
    models.load_weights(model, path)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), rtol=1e-5, atol=1e-5)


def test_load_weights_from_a_reslab_run_and_its_safetensors(tmp_path):
    source = _scrambled("resnet20", num_classes=10, in_channels=1)
    run = tmp_path / "run"
    run.mkdir()
    models.save_weights(source, run / "final.safetensors", metadata={"model": "resnet20"})
    model = models.create("resnet20", num_classes=10, in_channels=1)
    models.load_weights(model, run / "final.safetensors")
    assert _equal_states(model.state_dict(), source.state_dict()) == []


def test_load_weights_from_a_community_cifar_checkpoint(tmp_path):
    source = _scrambled("resnet20", num_classes=10)
    path = community_cifar_checkpoint(source, tmp_path / "resnet20-12fca82f.th")
    model = models.create("resnet20", num_classes=10)
    models.load_weights(model, path)
    want = {k: v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")}
    got = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert _equal_states(got, want) == []
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), source(x))


def _starts_from(run_dir: Path, source: dict[str, torch.Tensor]) -> None:
    """A run of one step at lr 1e-6 ends where its pretrained weights began."""
    final = load_file(run_dir / "final.safetensors")
    for key in ("conv1.weight", "layer2.0.conv1.weight", "layer3.2.conv2.weight"):
        torch.testing.assert_close(final[key], source[key], atol=1e-4, rtol=0)
    assert not torch.allclose(source["conv1.weight"], models.create("resnet20").conv1.weight)


@pytest.mark.parametrize("layout", ["community_th", "reslab_run", "reslab_safetensors"])
def test_pretrained_in_every_layout_starts_training_from_those_weights(
    layout, tmp_path, cifar10: OnDisk
):
    torch.manual_seed(123)
    source = _scrambled("resnet20", num_classes=10)
    if layout == "community_th":
        pretrained = community_cifar_checkpoint(source, tmp_path / "resnet20-12fca82f.th")
    else:
        run = tmp_path / "pretrained_run"
        run.mkdir()
        models.save_weights(source, run / "final.safetensors", metadata={"model": "resnet20"})
        pretrained = run if layout == "reslab_run" else run / "final.safetensors"
    run = train(
        "cifar10_resnet20",
        [
            f"data.root={cifar10.root}",
            "data.val_size=0",
            "data.batch_size=8",
            f"model.pretrained={pretrained}",
            "optim.lr=1e-6",
            "optim.weight_decay=0",
            *tiny(tmp_path / "runs", "finetune", iterations=1),
        ],
    )
    assert run.status == "completed"
    _starts_from(run.dir, source.state_dict())


def test_pretrained_from_a_torchvision_pth(tmp_path, folder: OnDisk):
    import torchvision

    torch.manual_seed(5)
    reference = torchvision.models.resnet18(num_classes=1000)
    path = tmp_path / "resnet18-f37072fd.pth"
    torch.save(reference.state_dict(), path)
    run = train(
        "imagenet_resnet50_v15",
        [
            "model.name=resnet18",
            f"model.pretrained={path}",
            f"data.root={folder.root}",
            "data.image_size=32",
            "data.batch_size=4",
            "data.eval_batch_size=6",
            "data.num_workers=0",
            "optim.lr=1e-6",
            "optim.weight_decay=0",
            *tiny(tmp_path / "runs", "tv", iterations=1),
        ],
    )
    assert run.status == "completed"
    final = load_file(run.dir / "final.safetensors")
    assert final["fc.weight"].shape == (3, 512)  # a new head for the folder's 3 classes
    for key in ("conv1.weight", "layer1.0.conv1.weight", "layer4.1.conv2.weight"):
        torch.testing.assert_close(final[key], reference.state_dict()[key], atol=1e-4, rtol=0)
