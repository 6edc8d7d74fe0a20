"""Published weights by name, from a torch.hub cache the tests fill; nothing touches the network.

The fixtures are written the way the community CIFAR-10 files are ({'best_prec1', 'state_dict'},
'module.' prefixes, a 'linear' head, no num_batches_tracked) and named, like them, by the first
8 hex digits of their own sha256; the registry of expected names is patched to those names.
"""

import hashlib
import io
from pathlib import Path
from urllib.error import URLError

import pytest
import torch

from reslab import models
from reslab.errors import WeightsError
from reslab.inference import load_for_inference
from reslab.models import hub


def _old_layout_bytes(model: torch.nn.Module) -> bytes:
    state = {}
    for key, value in model.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            key = "linear." + key[3:] if key.startswith("fc.") else key
            state["module." + key] = value
    buffer = io.BytesIO()
    torch.save({"best_prec1": 91.73, "state_dict": state}, buffer)
    return buffer.getvalue()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty torch.hub cache, and a download function that fails the test if called."""
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))

    def no_network(*args, **kwargs):
        raise AssertionError("a test tried to download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return tmp_path / "hub" / "checkpoints"


def _publish(cache: Path, monkeypatch, name: str, content: bytes, named_for: bytes | None = None):
    """Put ``content`` in the cache under the name the registry expects for ``name``."""
    digest = hashlib.sha256(content if named_for is None else named_for).hexdigest()
    file_name = f"{name}-{digest[:8]}.th"
    monkeypatch.setitem(hub.CIFAR10_FILES, name, file_name)
    cache.mkdir(parents=True, exist_ok=True)
    (cache / file_name).write_bytes(content)
    return cache / file_name


def test_cached_cifar_weights_load_by_name_without_network(cache, monkeypatch):
    source = models.create("resnet20").eval()
    _publish(cache, monkeypatch, "resnet20", _old_layout_bytes(source))
    x = torch.randn(2, 3, 32, 32)
    for net in (
        models.create("resnet20", weights="cifar10"),
        models.create("resnet20", pretrained=True),  # the timm-style alias of DEFAULT
    ):
        with torch.no_grad():
            assert torch.equal(net.eval()(x), source(x))


def test_hash_mismatch_is_one_clear_error(cache, monkeypatch):
    good = _old_layout_bytes(models.create("resnet20"))
    path = _publish(
        cache, monkeypatch, "resnet20", _old_layout_bytes(models.create("resnet20")), good
    )
    with pytest.raises(WeightsError, match="does not match the sha256 prefix") as e:
        models.create("resnet20", weights="cifar10")
    assert "\n" not in str(e.value) and str(path) in str(e.value)


def test_truncated_file_is_one_clear_error(cache, monkeypatch):
    content = _old_layout_bytes(models.create("resnet20"))[:5000]
    path = _publish(cache, monkeypatch, "resnet20", content)  # its hash fits: torch.load fails
    with pytest.raises(WeightsError, match="not a readable PyTorch file") as e:
        models.create("resnet20", weights="cifar10")
    assert "\n" not in str(e.value) and f"delete {path}" in str(e.value)


def test_offline_says_which_url_and_where_to_put_the_file(cache, monkeypatch):
    calls = []

    def offline(url, dst, hash_prefix=None, progress=True):
        calls.append((url, dst, hash_prefix))
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(WeightsError) as e:
        models.create("resnet56", weights="cifar10")
    url = "https://github.com/akamaster/pytorch_resnet_cifar10/raw/master/pretrained_models/"
    message = str(e.value)
    assert "\n" not in message
    assert f"{url}resnet56-4bfd9763.th" in message
    assert str(cache / "resnet56-4bfd9763.th") in message
    assert calls == [
        (f"{url}resnet56-4bfd9763.th", str(cache / "resnet56-4bfd9763.th"), "4bfd9763")
    ]


def test_download_goes_through_torch_hub_with_the_hash_prefix(cache, monkeypatch):
    content = _old_layout_bytes(models.create("resnet20"))
    file_name = f"resnet20-{hashlib.sha256(content).hexdigest()[:8]}.th"
    monkeypatch.setitem(hub.CIFAR10_FILES, "resnet20", file_name)

    def fake_download(url, dst, hash_prefix=None, progress=True):
        assert url.startswith("https://") and hashlib.sha256(content).hexdigest().startswith(
            hash_prefix
        )
        Path(dst).write_bytes(content)

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    assert hub.resolve_pretrained("resnet20.cifar10") == cache / file_name
    assert (cache / file_name).read_bytes() == content


def test_torchvision_weights_by_name_carry_their_metadata():
    v2 = hub.get_weights("resnet50", "DEFAULT")
    assert v2.tag == "IMAGENET1K_V2" and v2.url.startswith("https://download.pytorch.org/")
    assert (v2.image_size, v2.resize, v2.num_classes) == ((224, 224), 232, 1000)
    assert hub.get_weights("resnet50", "IMAGENET1K_V1").resize == 256
    assert len(v2.classes) == 1000 and v2.hash_prefix == v2.file_name.split("-")[1][:8]
    with pytest.raises(WeightsError, match="no weights named 'V3'"):
        hub.get_weights("resnet50", "V3")
    with pytest.raises(WeightsError, match="no published weights"):
        models.create("preact_resnet18", pretrained=True)


def test_torchvision_weights_load_from_the_cache(cache, monkeypatch):
    import torchvision

    tv = torchvision.models.resnet18(weights=None).eval()
    published = hub.get_weights("resnet18", "IMAGENET1K_V1")
    cache.mkdir(parents=True)
    torch.save(tv.state_dict(), cache / published.file_name)
    monkeypatch.setattr(hub, "check_hash", lambda path, weights: None)  # our file, not theirs
    net = models.create("resnet18", weights="IMAGENET1K_V1").eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(net(x), tv(x))


def test_recipe_spelling_and_paths_resolve(cache, monkeypatch, tmp_path):
    path = _publish(cache, monkeypatch, "resnet20", _old_layout_bytes(models.create("resnet20")))
    assert hub.resolve_pretrained("resnet20.cifar10") == path
    assert hub.resolve_pretrained(str(path)) == path  # a file path still works
    assert hub.resolve_pretrained(tmp_path) == tmp_path / "final.safetensors"  # a run dir too
    with pytest.raises(WeightsError, match="neither a file nor published weights"):
        hub.resolve_pretrained("resnet20.cifar100")


def test_predict_metadata_records_the_inputs_the_weights_expect(cache, monkeypatch):
    source = models.create("resnet20").eval()
    path = _publish(cache, monkeypatch, "resnet20", _old_layout_bytes(source))
    model, meta = load_for_inference("resnet20.cifar10")
    assert meta["classes"][:2] == ["airplane", "automobile"] and len(meta["classes"]) == 10
    assert meta["image_size"] == [32, 32] and meta["mean"] == [0.485, 0.456, 0.406]
    assert meta["std"] == [0.229, 0.224, 0.225] and meta["resize"] is None
    from_file, file_meta = load_for_inference(path)  # the cached file itself
    assert file_meta == meta
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), source(x)) and torch.equal(from_file(x), source(x))


def test_model_table_says_which_nets_have_weights():
    rows = {r.name: r.weights for r in models.model_table("resnet", with_flops=False)}
    assert rows["resnet56"] == ("cifar10", "chenyaofo_cifar10", "chenyaofo_cifar100")
    assert rows["resnet1202"] == ("cifar10",)
    assert rows["resnet50"] == ("IMAGENET1K_V1", "IMAGENET1K_V2")
    assert rows["preact_resnet110"] == () and "plain20" not in rows


def test_recipe_pretrained_by_name_starts_a_training_run(cache, monkeypatch, tmp_path):
    from reslab.engine import train

    source = models.create("resnet20")
    _publish(cache, monkeypatch, "resnet20", _old_layout_bytes(source))
    run = train(
        "digits_resnet20",
        [
            "train.iterations=2",
            "train.eval_every=2",
            "train.tensorboard=false",
            "train.progress=false",
            "model.pretrained=resnet20.cifar10",
            "model.freeze_stages=3",
            f"out_dir={tmp_path}",
            "name=by_name",
        ],
    )
    tuned = models.create("resnet20", num_classes=10, in_channels=1)
    models.load_weights(tuned, run.weights)
    # every stage frozen: the body is the published one (the stem summed to one channel)
    assert torch.equal(tuned.layer3[2].conv2.weight, source.layer3[2].conv2.weight)
    assert torch.equal(tuned.layer3[2].bn2.running_var, source.layer3[2].bn2.running_var)
    torch.testing.assert_close(tuned.conv1.weight, source.conv1.weight.sum(1, keepdim=True))


def test_the_cli_predicts_with_weights_by_name_and_says_where_to_put_them_offline(
    cache, monkeypatch, tmp_path, capsys
):
    """`reslab predict resnet20.cifar10 IMG` as the README shows it: from the cache without a
    download; with an empty cache and no network, one line naming the URL and the cache path."""
    import json

    import numpy as np
    from PIL import Image

    from reslab.cli import main

    image = tmp_path / "frog.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 30, 3), np.uint8)).save(image)
    _publish(cache, monkeypatch, "resnet20", _old_layout_bytes(models.create("resnet20")))
    assert main(["predict", "resnet20.cifar10", str(image), "--topk", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    cifar = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
             "truck"}  # fmt: skip
    assert len(out["top"]) == 2 and {name for name, _ in out["top"]} <= cifar

    def offline(url, dst, hash_prefix=None, progress=True):
        raise URLError("Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    assert main(["predict", "resnet56.cifar10", str(image)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "https://" in err[0] and "resnet56-4bfd9763.th" in err[0]
    assert str(cache / "resnet56-4bfd9763.th") in err[0]
