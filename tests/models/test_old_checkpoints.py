"""The community CIFAR-10 checkpoints (resnet20-12fca82f.th ... resnet1202-f3b1deed.th) load.

They were saved by a PyTorch older than BatchNorm's num_batches_tracked buffer. The fixtures
here are written the way those files are: a dict {'best_prec1', 'state_dict'}, keys prefixed
'module.', the head named 'linear', and no num_batches_tracked.
"""

import pytest
import torch

from reslab import models
from reslab.errors import WeightsError


def old_checkpoint(model: torch.nn.Module) -> dict:
    """``model``'s weights in the layout of the published CIFAR-10 files."""
    state = {}
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        key = "linear." + key[3:] if key.startswith("fc.") else key
        state["module." + key] = value.clone()
    return {"best_prec1": 92.63, "state_dict": state}


@pytest.mark.parametrize("name", ["resnet20", "resnet56"])
def test_old_checkpoint_without_num_batches_tracked_loads_with_one_note(name, tmp_path, capsys):
    src = models.create(name).eval()
    path = tmp_path / f"{name}-old.th"
    torch.save(old_checkpoint(src), path)
    assert torch.load(path, weights_only=True)["best_prec1"] == 92.63  # what the files allow
    dst = models.create(name).eval()
    report = models.load_weights(dst, path)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(src(x), dst(x))
    assert len(report.notes) == 1 and "num_batches_tracked" in report.notes[0]
    assert all(int(b) == 0 for k, b in dst.state_dict().items() if "num_batches" in k)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("note: ") and "num_batches_tracked" in err[0]


def test_old_checkpoint_missing_a_conv_weight_still_fails_in_one_line(tmp_path):
    ckpt = old_checkpoint(models.create("resnet20"))
    del ckpt["state_dict"]["module.layer2.1.conv1.weight"]
    path = tmp_path / "resnet20-broken.th"
    torch.save(ckpt, path)
    with pytest.raises(WeightsError, match=r"missing keys: layer2\.1\.conv1\.weight;") as e:
        models.load_weights(models.create("resnet20"), path)
    assert "\n" not in str(e.value)
    assert "num_batches_tracked" not in str(e.value)


def test_missing_running_stats_are_not_filled_in(tmp_path):
    """Only version-added buffers are accepted: a BN without its statistics is an error."""
    ckpt = old_checkpoint(models.create("resnet20"))
    del ckpt["state_dict"]["module.bn1.running_mean"]
    with pytest.raises(
        WeightsError, match=r"missing keys: bn1\.num_batches_tracked, bn1\.running_mean"
    ):
        models.load_weights(models.create("resnet20"), ckpt)


def test_current_files_load_without_a_note(tmp_path, capsys):
    path = tmp_path / "new.pt"
    torch.save(models.create("resnet20").state_dict(), path)
    assert models.load_weights(models.create("resnet20"), path).notes == []
    assert capsys.readouterr().err == ""
