"""chenyaofo/pytorch-cifar-models' CIFAR-10/100 ResNet-20..56 by name; nothing touches the network.

The fixtures are written key by key in the layout of that project's release files (a plain
state dict of its CifarResNet: conv1/bn1, layer1-3 of BasicBlocks, a 1x1 conv + BN projection
as downsample.0/.1 where the shape changes, fc), not by reslab's model, and are named like the
real files by the first 8 hex digits of their own sha256; the table of expected names is
patched to those names. A forward pass written here with F.conv2d/F.batch_norm over those keys
is the reference for the logits.
"""

import hashlib
import io
import json
from pathlib import Path
from urllib.error import URLError

import pytest
import torch
import torch.nn.functional as F
from data.builders import cifar_files, official_pickle, write_tar_gz

from reslab import models
from reslab.errors import WeightsError
from reslab.inference import load_for_inference
from reslab.models import hub

WIDTHS = (16, 32, 64)
BLOCKS = {"resnet20": 3, "resnet32": 5, "resnet44": 7, "resnet56": 9}
"""Blocks per stage of their cifar*_resnet* entry points (layers=[n]*3)."""


def their_state_dict(model: str, num_classes: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights under their key names, with BN statistics far from the identity."""
    g = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}

    def conv(key: str, out_ch: int, in_ch: int, k: int) -> None:
        fan_in = in_ch * k * k
        state[f"{key}.weight"] = torch.randn(out_ch, in_ch, k, k, generator=g) / fan_in**0.5

    def bn(key: str, ch: int) -> None:
        state[f"{key}.weight"] = 0.5 + torch.rand(ch, generator=g)
        state[f"{key}.bias"] = 0.2 * torch.randn(ch, generator=g)
        state[f"{key}.running_mean"] = 0.3 * torch.randn(ch, generator=g)
        state[f"{key}.running_var"] = 0.5 + torch.rand(ch, generator=g)
        state[f"{key}.num_batches_tracked"] = torch.tensor(39100)

    conv("conv1", 16, 3, 3)
    bn("bn1", 16)
    in_ch = 16
    for stage, width in enumerate(WIDTHS, start=1):
        for b in range(BLOCKS[model]):
            prefix = f"layer{stage}.{b}"
            conv(f"{prefix}.conv1", width, in_ch, 3)
            bn(f"{prefix}.bn1", width)
            conv(f"{prefix}.conv2", width, width, 3)
            bn(f"{prefix}.bn2", width)
            if in_ch != width:
                conv(f"{prefix}.downsample.0", width, in_ch, 1)
                bn(f"{prefix}.downsample.1", width)
            in_ch = width
    state["fc.weight"] = torch.randn(num_classes, 64, generator=g) / 8
    state["fc.bias"] = 0.1 * torch.randn(num_classes, generator=g)
    return state


def their_forward(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Their CifarResNet.forward in eval mode, op by op over the state dict."""

    def bn(h: torch.Tensor, key: str) -> torch.Tensor:
        return F.batch_norm(
            h,
            state[f"{key}.running_mean"],
            state[f"{key}.running_var"],
            state[f"{key}.weight"],
            state[f"{key}.bias"],
            training=False,
            eps=1e-5,
        )

    h = F.relu(bn(F.conv2d(x, state["conv1.weight"], padding=1), "bn1"))
    stage = 1
    while f"layer{stage}.0.conv1.weight" in state:
        b = 0
        while f"layer{stage}.{b}.conv1.weight" in state:
            p = f"layer{stage}.{b}"
            stride = 2 if stage > 1 and b == 0 else 1
            out = F.conv2d(h, state[f"{p}.conv1.weight"], stride=stride, padding=1)
            out = F.relu(bn(out, f"{p}.bn1"))
            out = bn(F.conv2d(out, state[f"{p}.conv2.weight"], padding=1), f"{p}.bn2")
            if f"{p}.downsample.0.weight" in state:
                h = F.conv2d(h, state[f"{p}.downsample.0.weight"], stride=stride)
                h = bn(h, f"{p}.downsample.1")
            h = F.relu(out + h)
            b += 1
        stage += 1
    return F.linear(h.mean((2, 3)), state["fc.weight"], state["fc.bias"])


def file_bytes(state: dict[str, torch.Tensor]) -> bytes:
    """The file as torch.save(model.state_dict(), path) writes it."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty torch.hub cache, and a download function that fails the test if called."""
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))

    def no_network(*args, **kwargs):
        raise AssertionError("a test tried to download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return tmp_path / "hub" / "checkpoints"


def publish(
    cache: Path, monkeypatch, model: str, tag: str, content: bytes, named_for: bytes | None = None
) -> Path:
    """Put ``content`` in the cache under their naming, {dataset}_{model}-{sha256[:8]}.pt, and
    make the table expect that name."""
    digest = hashlib.sha256(content if named_for is None else named_for).hexdigest()
    file_name = f"{tag.removeprefix('chenyaofo_')}_{model}-{digest[:8]}.pt"
    monkeypatch.setitem(hub.CHENYAOFO_FILES[tag], model, file_name)
    cache.mkdir(parents=True, exist_ok=True)
    (cache / file_name).write_bytes(content)
    return cache / file_name


def test_the_fixture_has_their_layout():
    state = their_state_dict("resnet20", 100)
    # 1 + 2 * 9 convs and 2 projections; a BN (5 entries) after each; the fc weight and bias
    assert len(state) == 21 + 21 * 5 + 2
    assert state["layer2.0.downsample.0.weight"].shape == (32, 16, 1, 1)
    assert state["layer3.0.downsample.1.running_var"].shape == (64,)
    assert (
        "layer1.0.downsample.0.weight" not in state and "layer2.1.downsample.0.weight" not in state
    )
    assert state["fc.weight"].shape == (100, 64)
    assert torch.load(io.BytesIO(file_bytes(state)), weights_only=True).keys() == state.keys()


@pytest.mark.parametrize(
    "tag, num_classes", [("chenyaofo_cifar10", 10), ("chenyaofo_cifar100", 100)]
)
def test_by_name_builds_shortcut_b_and_loads_every_key(cache, monkeypatch, tag, num_classes):
    state = their_state_dict("resnet20", num_classes)
    publish(cache, monkeypatch, "resnet20", tag, file_bytes(state))
    net = models.create("resnet20", weights=tag)
    assert net.spec.shortcut == "B" and net.num_classes == num_classes
    assert models.create("resnet20").spec.shortcut == "A"  # the registered row is unchanged
    assert net.layer1[0].downsample is None and net.layer2[1].downsample is None
    for stage in (net.layer2, net.layer3):
        conv, norm = stage[0].downsample
        assert isinstance(conv, torch.nn.Conv2d) and conv.kernel_size == (1, 1)
        assert conv.stride == (2, 2) and isinstance(norm, torch.nn.BatchNorm2d)
    loaded = net.state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())

    fresh = models.create("resnet20", shortcut="B", num_classes=num_classes)
    report = hub.load_published(fresh, hub.get_weights("resnet20", tag))
    assert report.loaded == sorted(state) and report.skipped == [] and report.notes == []


def test_logits_match_their_forward_written_out(cache, monkeypatch):
    state = their_state_dict("resnet32", 100, seed=1)
    publish(cache, monkeypatch, "resnet32", "chenyaofo_cifar100", file_bytes(state))
    net = models.create("resnet32", weights="chenyaofo_cifar100").eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        expected = their_forward(state, x)
        torch.testing.assert_close(net(x), expected, rtol=0, atol=1e-5)
    assert expected.shape == (4, 100) and expected.std() > 0.1  # not a degenerate comparison


def test_inference_metadata_by_name_and_by_file(cache, monkeypatch):
    state = their_state_dict("resnet20", 100)
    path = publish(cache, monkeypatch, "resnet20", "chenyaofo_cifar100", file_bytes(state))
    model, meta = load_for_inference("resnet20.chenyaofo_cifar100")
    assert meta["num_classes"] == 100 and meta["model_kwargs"] == {"shortcut": "B"}
    assert meta["mean"] == [0.507, 0.4865, 0.4409] and meta["std"] == [0.2673, 0.2564, 0.2761]
    assert meta["image_size"] == [32, 32] and meta["resize"] is None
    assert meta["classes"][:4] == ["apple", "aquarium_fish", "baby", "bear"]
    assert meta["classes"][-1] == "worm" and len(set(meta["classes"])) == 100
    assert meta["weights"] == "resnet20.chenyaofo_cifar100"
    from_file, file_meta = load_for_inference(path)  # the cached file itself, by its name
    assert file_meta == meta
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x), their_forward(state, x), rtol=0, atol=1e-5)
        assert torch.equal(from_file(x), model(x))

    cifar10 = hub.get_weights("resnet56", "chenyaofo_cifar10").inference_metadata()
    assert cifar10["mean"] == [0.4914, 0.4822, 0.4465] and cifar10["std"] == [0.2023, 0.1994, 0.201]
    assert cifar10["classes"] == list(hub.CIFAR10_CLASSES) and cifar10["num_classes"] == 10


@pytest.mark.parametrize(
    "change, message",
    [
        ({"drop": "layer2.0.downsample.1.running_var"}, "missing keys: layer2.0.downsample.1"),
        ({"add": "layer1.0.downsample.0.weight"}, "unexpected keys: layer1.0.downsample.0"),
        ({"add": "layer3.0.conv3.weight"}, "unexpected keys: layer3.0.conv3.weight"),
    ],
)
def test_a_missing_or_extra_key_fails_loudly(cache, monkeypatch, change, message):
    state = their_state_dict("resnet20", 10)
    if "drop" in change:
        del state[change["drop"]]
    else:
        state[change["add"]] = torch.zeros(16, 16, 1, 1)
    path = publish(cache, monkeypatch, "resnet20", "chenyaofo_cifar10", file_bytes(state))
    with pytest.raises(WeightsError, match=message) as e:
        models.create("resnet20", weights="chenyaofo_cifar10")
    assert "\n" not in str(e.value) and f"delete {path}" in str(e.value)


def test_a_tampered_file_is_refused(cache, monkeypatch):
    good = file_bytes(their_state_dict("resnet20", 10))
    tampered = file_bytes(their_state_dict("resnet20", 10, seed=5))
    path = publish(cache, monkeypatch, "resnet20", "chenyaofo_cifar10", tampered, good)
    with pytest.raises(WeightsError, match="does not match the sha256 prefix") as e:
        models.create("resnet20", weights="chenyaofo_cifar10")
    assert "\n" not in str(e.value) and str(path) in str(e.value)


def test_a_different_number_of_classes_keeps_a_fresh_head(cache, monkeypatch):
    state = their_state_dict("resnet20", 100)
    publish(cache, monkeypatch, "resnet20", "chenyaofo_cifar100", file_bytes(state))
    net = models.create("resnet20", weights="chenyaofo_cifar100", num_classes=7)
    assert net.fc.out_features == 7 and net.spec.shortcut == "B"
    assert torch.equal(net.layer3[0].downsample[0].weight, state["layer3.0.downsample.0.weight"])


def test_their_release_files_by_name():
    url = "https://github.com/chenyaofo/pytorch-cifar-models/releases/download/resnet/"
    # the prefixes in pytorch_cifar_models/resnet.py's *_pretrained_weight_urls
    expected = {
        "resnet20.chenyaofo_cifar10": "cifar10_resnet20-4118986f.pt",
        "resnet32.chenyaofo_cifar10": "cifar10_resnet32-ef93fc4d.pt",
        "resnet44.chenyaofo_cifar10": "cifar10_resnet44-2a3cabcb.pt",
        "resnet56.chenyaofo_cifar10": "cifar10_resnet56-187c023a.pt",
        "resnet20.chenyaofo_cifar100": "cifar100_resnet20-23dac2f1.pt",
        "resnet32.chenyaofo_cifar100": "cifar100_resnet32-84213ce6.pt",
        "resnet44.chenyaofo_cifar100": "cifar100_resnet44-ffe32858.pt",
        "resnet56.chenyaofo_cifar100": "cifar100_resnet56-f2eff4c8.pt",
    }
    for name, file_name in expected.items():
        weights = hub.parse_weights_name(name)
        assert weights is not None and weights.name == name
        assert weights.url == url + file_name and weights.hash_prefix == file_name[-11:-3]
        assert hub.for_file(Path("/anywhere") / file_name) == weights
    for model in BLOCKS:
        assert hub.weight_tags(model) == ["cifar10", "chenyaofo_cifar10", "chenyaofo_cifar100"]
        assert hub.get_weights(model).name == f"{model}.cifar10"  # DEFAULT stays akamaster's
    assert hub.weight_tags("resnet110") == ["cifar10"]
    with pytest.raises(WeightsError, match="no weights named 'chenyaofo_cifar10'"):
        hub.get_weights("resnet110", "chenyaofo_cifar10")
    assert hub.for_file("cifar100_resnet56-00000000.pt") is None


def test_cifar100_class_names_are_the_official_fine_labels_in_label_order():
    names = hub.CIFAR100_CLASSES
    assert len(names) == 100 and list(names) == sorted(set(names))  # label order: alphabetical
    assert names[:5] == ("apple", "aquarium_fish", "baby", "bear", "beaver")
    assert (names[30], names[58], names[99]) == ("dolphin", "pickup_truck", "worm")


def test_offline_names_their_url_and_the_cache_path(cache, monkeypatch):
    calls = []

    def offline(url, dst, hash_prefix=None, progress=True):
        calls.append((url, dst, hash_prefix))
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(WeightsError) as e:
        models.create("resnet56", weights="chenyaofo_cifar100")
    url = (
        "https://github.com/chenyaofo/pytorch-cifar-models/releases/download/resnet/"
        "cifar100_resnet56-f2eff4c8.pt"
    )
    assert url in str(e.value) and str(cache / "cifar100_resnet56-f2eff4c8.pt") in str(e.value)
    assert calls == [(url, str(cache / "cifar100_resnet56-f2eff4c8.pt"), "f2eff4c8")]


def test_the_cli_evaluates_them_by_name(cache, monkeypatch, tmp_path, capsys):
    """`reslab eval resnet20.chenyaofo_cifar100 --data cifar100` on a tiny CIFAR-100 in the
    official archive layout, whose meta file names the classes as the real one does (eval
    refuses a dataset whose class names differ from the weights'); `reslab models` lists the
    tags."""
    from reslab.cli import main

    state = their_state_dict("resnet20", 100)
    publish(cache, monkeypatch, "resnet20", "chenyaofo_cifar100", file_bytes(state))
    root = tmp_path / "data"
    files = cifar_files("cifar100", per_class_train=1, per_class_test=1)  # 100 test images
    files["meta"] = official_pickle(
        {b"fine_label_names": [name.encode() for name in hub.CIFAR100_CLASSES]}
    )
    archive = {f"cifar-100-python/{member}": data for member, data in files.items()}
    write_tar_gz(root / "cifar-100-python.tar.gz", archive)
    args = ["eval", "resnet20.chenyaofo_cifar100", "--data", "cifar100", "--root", str(root)]
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["count"] == 100 and result["classes"] == list(hub.CIFAR100_CLASSES)

    assert main(["models", "--filter", "resnet20", "--json"]) == 0
    rows = {r["name"]: r["weights"] for r in json.loads(capsys.readouterr().out)}
    assert rows["resnet20"] == ["cifar10", "chenyaofo_cifar10", "chenyaofo_cifar100"]
