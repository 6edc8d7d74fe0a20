import os

import pytest
import torch

from reslab import models
from reslab.errors import WeightsError


def _reproduction_checkpoint(model: torch.nn.Module) -> dict:
    """The layout of the community CIFAR checkpoints (resnet20-12fca82f.th and friends)."""
    state = {}
    for k, v in model.state_dict().items():
        k = "linear." + k[3:] if k.startswith("fc.") else k
        state["module." + k] = v
    return {"best_prec1": 91.73, "state_dict": state}


def test_loads_reproduction_checkpoint_with_module_prefix_and_linear_head(tmp_path):
    src = models.create("resnet20").eval()
    path = tmp_path / "resnet20-12fca82f.th"
    torch.save(_reproduction_checkpoint(src), path)
    dst = models.create("resnet20").eval()
    report = models.load_weights(dst, path)
    assert "fc.weight" in report.loaded
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(src(x), dst(x))


def test_safetensors_round_trip_with_metadata(tmp_path):
    src = models.create("resnet20", num_classes=5).eval()
    path = models.save_weights(src, tmp_path / "w.safetensors", {"model": "resnet20"})
    assert models.read_metadata(path) == {"model": "resnet20"}
    dst = models.create("resnet20", num_classes=5).eval()
    models.load_weights(dst, path)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(src(x), dst(x))


def test_mismatch_names_missing_unexpected_and_shapes(tmp_path):
    path = tmp_path / "r32.pt"
    torch.save(models.create("resnet32").state_dict(), path)
    with pytest.raises(WeightsError, match="unexpected keys: layer1.3") as e:
        models.load_weights(models.create("resnet20"), path)
    assert "\n" not in str(e.value)
    path2 = tmp_path / "r20_100.pt"
    torch.save(models.create("resnet20", num_classes=100).state_dict(), path2)
    with pytest.raises(WeightsError, match=r"shape conflicts: fc.weight \(100, 64\)"):
        models.load_weights(models.create("resnet20"), path2)


def test_skip_head_keeps_fresh_classifier(tmp_path):
    src = models.create("resnet20", num_classes=100)
    path = tmp_path / "src.pt"
    torch.save(src.state_dict(), path)
    dst = models.create("resnet20", num_classes=10)
    head = dst.fc.weight.clone()
    report = models.load_weights(dst, path, skip_head=True)
    assert torch.equal(dst.fc.weight, head)
    assert torch.equal(dst.conv1.weight, src.conv1.weight)
    assert "fc.weight" in report.skipped


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch pwned_by_reslab_test",))


def test_pickle_payload_is_refused_without_running(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {"conv1.weight": _Payload()}}, path)
    with pytest.raises(WeightsError, match="refusing to load"):
        models.load_weights(models.create("resnet20"), path)
    assert not (tmp_path / "pwned_by_reslab_test").exists()


def test_malformed_safetensors_fails_cleanly(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"\xff\xff\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(WeightsError, match="not a valid safetensors"):
        models.load_weights(models.create("resnet20"), path)


def test_an_export_or_an_image_given_as_weights_is_named_for_what_it_is(tmp_path, capsys):
    """reslab's own ONNX and TorchScript exports, and a photo, passed where weights go: one line
    saying what the file is (they used to be called "pickled objects other than tensors",
    or a torch warning then its weights_only text)."""
    from PIL import Image

    from reslab.cli import main

    net = models.create("resnet20").eval()
    torch.jit.save(torch.jit.trace(net, torch.zeros(1, 3, 32, 32)), tmp_path / "model.pt")
    (tmp_path / "model.onnx").write_bytes(b"\x08\x08\x12\x07pytorch")  # a protobuf's first bytes
    Image.new("RGB", (32, 32), "red").save(tmp_path / "cat.jpg")
    for name, what in (
        ("model.onnx", "an exported ONNX model"),
        ("model.pt", "an exported TorchScript model"),
        ("cat.jpg", "a JPEG image"),
    ):
        with pytest.raises(WeightsError, match=f"is {what}, not weights"):
            models.load_weights(models.create("resnet20"), tmp_path / name)
        capsys.readouterr()
        assert main(["predict", str(tmp_path / name), str(tmp_path / "cat.jpg")]) == 2
        err = capsys.readouterr().err
        assert err.splitlines() == [
            f"error: {tmp_path / name} is {what}, not weights: pass a run directory, its "
            "final.safetensors or one of its checkpoints"
        ], err


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        models.load_weights(models.create("resnet20"), tmp_path / "nope.pt")


def test_adapt_input_lets_rgb_weights_start_a_grey_model(tmp_path):
    rgb = models.create("resnet20", num_classes=10).eval()
    path = tmp_path / "rgb.pt"
    torch.save(rgb.state_dict(), path)
    grey = models.create("resnet20", num_classes=5, in_channels=1).eval()
    with pytest.raises(WeightsError, match="conv1.weight"):
        models.load_weights(grey, path, skip_head=True)
    models.load_weights(grey, path, skip_head=True, adapt_input=True)
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        # a grey image repeated over RGB gives the same stem response as the summed filters
        torch.testing.assert_close(grey.conv1(x), rgb.conv1(x.repeat(1, 3, 1, 1)))
