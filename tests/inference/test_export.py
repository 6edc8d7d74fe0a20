import importlib
import json
import sys

import numpy as np
import pytest
import torch

from reslab.errors import ReslabError
from reslab.inference import export, load_for_inference
from reslab.models import read_metadata

from .builders import make_run

# The package exports the function `export`, which hides the submodule of the same name.
export_module = importlib.import_module("reslab.inference.export")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def rgb_run(tmp_path_factory):
    """ResNet-20 at its native CIFAR shape: 3 channels, 32x32."""
    path = tmp_path_factory.mktemp("runs") / "cifar"
    make_run(path, in_channels=3, image_size=(32, 32), model_kwargs={})
    return path


@pytest.mark.parametrize("run", ["run_dir", "rgb_run"])
def test_onnx_round_trip_with_dynamic_batch(run, request, tmp_path):
    source = request.getfixturevalue(run)
    model, meta = load_for_inference(source)
    result = export(source, tmp_path / "model.onnx", format="onnx")

    assert result.path == tmp_path / "model.onnx" and result.path.is_file()
    assert result.format == "onnx"
    assert result.max_abs_diff is not None and result.max_abs_diff < 1e-4
    proto = onnx.load(str(result.path))
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    assert json.loads({p.key: p.value for p in proto.metadata_props}["reslab"]) == meta

    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    batch_dim = session.get_inputs()[0].shape[0]
    assert isinstance(batch_dim, str)  # symbolic, not a fixed number
    x = torch.randn(5, meta["in_channels"], *meta["image_size"])
    (logits,) = session.run(["logits"], {"input": x.numpy()})
    assert logits.shape == (5, 10)
    with torch.no_grad():
        np.testing.assert_allclose(logits, model(x).numpy(), atol=1e-4)


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated")
def test_torchscript_round_trip(run_dir, tmp_path):
    model, meta = load_for_inference(run_dir)
    result = export(run_dir, tmp_path / "model.pt", format="torchscript")
    assert result.path.is_file() and result.max_abs_diff < 1e-5

    extra = {"reslab.json": ""}
    loaded = torch.jit.load(str(result.path), _extra_files=extra)
    assert json.loads(extra["reslab.json"]) == meta
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), atol=1e-5, rtol=0)


def test_safetensors_export_strips_a_checkpoint_and_reloads_equal(run_dir, tmp_path):
    model, meta = load_for_inference(run_dir)
    ckpt_dir = tmp_path / "run"
    ckpt_dir.mkdir()
    (ckpt_dir / "model.json").write_text((run_dir / "model.json").read_text())
    torch.save({"model": model.state_dict(), "optimizer": {"lr": 0.1}}, ckpt_dir / "last.pt")

    result = export(ckpt_dir / "last.pt", tmp_path / "clean.safetensors", format="safetensors")

    assert result.max_abs_diff == 0.0
    assert read_metadata(result.path) == meta
    reloaded, _ = load_for_inference(result.path)
    for key, value in model.state_dict().items():
        assert torch.equal(reloaded.state_dict()[key], value), key


def test_export_into_a_directory_names_the_file_after_the_model(run_dir, tmp_path):
    result = export(run_dir, tmp_path, format="safetensors")
    assert result.path == tmp_path / "resnet20.safetensors" and result.path.is_file()


def test_a_failed_check_leaves_no_file_behind(run_dir, tmp_path, monkeypatch):
    out = tmp_path / "model.pt"
    out.write_bytes(b"previous export")
    monkeypatch.setattr(export_module, "MAX_ABS_DIFF", -1.0)  # every export now "fails"
    with pytest.raises(ReslabError, match="differs from PyTorch.*nothing was written"):
        export(run_dir, out, format="torchscript")
    assert out.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temp file left


def test_missing_onnx_runtime_says_how_to_install(run_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    with pytest.raises(ReslabError, match=r"pip install 'reslab\[export\]'"):
        export(run_dir, tmp_path / "m.onnx", format="onnx")
    assert list(tmp_path.iterdir()) == []


def test_the_opsets_offered_export_and_the_others_are_one_line(run_dir, tmp_path, capfd):
    """The first and last opset of the range the refusal names both export an option-A net
    (its shortcut's strided slice needs opset 10); one outside it is a line naming the range,
    with nothing written and nothing else printed (opset 9 printed the exporter's whole IR
    graph, then advised --format torchscript)."""
    lowest, highest = export_module.MIN_OPSET, export_module.max_opset()
    for opset in (lowest, highest):
        result = export(run_dir, tmp_path / f"m{opset}.onnx", format="onnx", opset=opset)
        assert onnx.load(str(result.path)).opset_import[0].version == opset
    capfd.readouterr()
    for opset in (lowest - 1, highest + 1):
        with pytest.raises(ReslabError) as refused:
            export(run_dir, tmp_path / "bad.onnx", format="onnx", opset=opset)
        assert str(refused.value) == (
            f"--opset {opset} cannot export these nets: use {lowest} to {highest} (default 17)"
        )
    assert capfd.readouterr() == ("", "")
    assert not (tmp_path / "bad.onnx").exists()


def test_unknown_format_is_refused(run_dir, tmp_path):
    with pytest.raises(ReslabError, match="unknown export format 'tflite'"):
        export(run_dir, tmp_path / "m.tflite", format="tflite")


def test_the_export_bound_scales_with_the_logits():
    """fp32 rounding scales with the values: a faithful export of a net with huge logits (a deep
    net early in training) is not refused, and a NaN never passes."""
    import math

    import torch

    from reslab.inference.export import MAX_ABS_DIFF, tolerance

    assert tolerance(torch.tensor([0.5, -0.2])) == MAX_ABS_DIFF
    assert tolerance(torch.tensor([1e30, 3.0])) == pytest.approx(MAX_ABS_DIFF * 1e30)
    assert math.isnan(tolerance(torch.tensor([float("nan"), 1.0])))
