"""CIFAR-10 as users have it: a folder of 32x32 JPEG and PNG files (train/<class>/, test/<class>/)
and the official python archive rebuilt from the same decoded pixels, as the public JPEG copy
of CIFAR-10 and its archive form are. The same weights must score both forms alike, predict
must give each file the class eval counts for it, folder classes are matched by name, and a
CIFAR recipe trains a folder as it trains the archive.

The weights by name are a file in the community checkpoint layout ('module.' prefixes, a
'linear' head, no num_batches_tracked), named by its own sha256 as theirs are, with random
weights and BatchNorm statistics so that the predictions vary from image to image.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from data.builders import CIFAR10_NAMES, official_pickle
from PIL import Image

from reslab import models
from reslab.models import hub

from .datasets import sample_photos
from .steps import reslab

pytestmark = pytest.mark.slow

TRAIN, TEST = 4, 3  # images per class
IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def _crops(n: int, seed: int, size: tuple[int, int] = (32, 32)) -> list[Image.Image]:
    """``n`` crops of scikit-learn's two photographs, scaled to ``size`` (width, height)."""
    rng = np.random.default_rng(seed)
    photos = sample_photos()
    out = []
    for i in range(n):
        photo = photos[i % 2]
        w = int(rng.integers(48, 200))
        x, y = int(rng.integers(0, photo.width - w)), int(rng.integers(0, photo.height - w))
        out.append(photo.crop((x, y, x + w, y + w)).resize(size, Image.BILINEAR))
    return out


@pytest.fixture(scope="module")
def cifar(tmp_path_factory) -> dict[str, Path]:
    """The two forms of one small CIFAR-10: ``folder`` (JPEG q75 with some PNG files, as the
    public copy) and ``archive`` (cifar-10-batches-py from the pixels the JPEGs decode to)."""
    root = tmp_path_factory.mktemp("cifar_forms")
    folder, archive = root / "jpg", root / "archive" / "cifar-10-batches-py"
    archive.mkdir(parents=True)
    batches: dict[str, tuple[list[np.ndarray], list[int]]] = {"train": ([], []), "test": ([], [])}
    for split, per_class in (("train", TRAIN), ("test", TEST)):
        for label, name in enumerate(CIFAR10_NAMES):
            (folder / split / name).mkdir(parents=True)
            for i, image in enumerate(_crops(per_class, seed=100 * label + len(split))):
                path = folder / split / name / f"{i:04d}.{'png' if i == 1 else 'jpg'}"
                image.save(path, quality=75)
                pixels = np.asarray(Image.open(path).convert("RGB"))  # what the file holds
                batches[split][0].append(pixels.transpose(2, 0, 1).reshape(-1))
                batches[split][1].append(label)

    def batch(split: str, part: slice = slice(None)) -> bytes:
        images, labels = batches[split]
        return official_pickle(
            {b"data": np.stack(images)[part], b"labels": labels[part], b"batch_label": b"x"}
        )

    n = len(batches["train"][1])
    for i in range(5):  # the archive's five training batches
        (archive / f"data_batch_{i + 1}").write_bytes(batch("train", slice(i, n, 5)))
    (archive / "test_batch").write_bytes(batch("test"))
    names = [c.encode() for c in CIFAR10_NAMES]
    (archive / "batches.meta").write_bytes(official_pickle({b"label_names": names}))
    return {"folder": folder, "archive": archive.parent}


@pytest.fixture(scope="module")
def community_resnet20(cifar) -> tuple[torch.nn.Module, bytes]:
    """resnet20.cifar10 as the community file holds it, and the same net as a module: a random
    body whose classifier is fitted (ridge regression) to the training images' features, so its
    predictions vary from image to image as a trained net's do."""
    torch.manual_seed(0)
    model = models.create("resnet20").eval()
    x, y = _archive_split(cifar["archive"], "data_batch_1")
    features = []
    hook = model.fc.register_forward_hook(lambda m, i, o: features.append(i[0]))
    with torch.no_grad():
        model((x - IMAGENET_MEAN) / IMAGENET_STD)
    hook.remove()
    f = torch.cat([features[0], torch.ones(len(x), 1)], 1).double()
    target = torch.nn.functional.one_hot(y, 10).double()
    solution = torch.linalg.solve(f.T @ f + 1e-3 * torch.eye(f.shape[1]), f.T @ target)
    with torch.no_grad():
        model.fc.weight.copy_(solution[:-1].T.float())
        model.fc.bias.copy_(solution[-1].float())
    state = {
        "module." + ("linear." + k[3:] if k.startswith("fc.") else k): v
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }
    buffer = io.BytesIO()
    torch.save({"best_prec1": 91.73, "state_dict": state}, buffer)
    return model.eval(), buffer.getvalue()


@pytest.fixture
def by_name(community_resnet20, monkeypatch, tmp_path) -> torch.nn.Module:
    """resnet20.cifar10 served from a torch.hub cache of this test's own."""
    model, content = community_resnet20
    name = f"resnet20-{hashlib.sha256(content).hexdigest()[:8]}.th"
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    monkeypatch.setitem(hub.CIFAR10_FILES, "resnet20", name)
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "hub" / "checkpoints" / name).write_bytes(content)
    return model


def _eval(capsys, *args) -> dict:
    result = reslab(capsys, "eval", *args, "--json", "--device", "cpu")
    assert result.rc == 0, result.text
    return json.loads(result.out)


def _archive_split(archive: Path, batch: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixels in [0, 1] and labels of one batch file this test wrote (pickle is safe on it)."""
    import pickle

    raw = (archive / "cifar-10-batches-py" / batch).read_bytes()
    content = pickle.loads(raw, encoding="bytes")
    x = torch.from_numpy(np.asarray(content[b"data"])).view(-1, 3, 32, 32).float() / 255
    return x, torch.tensor(content[b"labels"])


def _expected(model: torch.nn.Module, archive: Path) -> tuple[float, list[list[int]]]:
    """Top-1 accuracy and confusion of ``model`` on the archive's test batch, computed here
    from the pixels with the normalisation the community weights were trained with."""

    x, y = _archive_split(archive, "test_batch")
    with torch.no_grad():
        pred = model((x - IMAGENET_MEAN) / IMAGENET_STD).argmax(1)
    confusion = torch.zeros(10, 10, dtype=torch.int64)
    confusion.index_put_((y, pred), torch.ones_like(y), accumulate=True)
    assert len(set(pred.tolist())) > 2, "the fixture weights should not predict one class"
    return 100.0 * (pred == y).sum().item() / len(y), confusion.tolist()


def test_weights_by_name_score_the_folder_and_the_archive_alike(cifar, by_name, capsys):
    accuracy, confusion = _expected(by_name, cifar["archive"])
    archive = _eval(capsys, "resnet20.cifar10", "--data", "cifar10", "--root", cifar["archive"])
    folder = _eval(capsys, "resnet20.cifar10", "--data", "folder", "--root", cifar["folder"])
    test_dir = _eval(
        capsys, "resnet20.cifar10", "--data", "folder", "--root", cifar["folder"] / "test"
    )
    for result in (archive, folder, test_dir):
        assert result["count"] == 10 * TEST
        assert result["confusion"] == confusion  # 32x32 in, untouched: no zoom, no crop
        assert result["top1_accuracy"] == pytest.approx(accuracy, abs=1e-6)


def test_predict_gives_each_file_the_class_eval_counts_for_it(cifar, by_name, capsys):
    files = sorted((cifar["folder"] / "test").rglob("*.*"))
    result = reslab(capsys, "predict", "resnet20.cifar10", *files, "--topk", "1", "--json")
    assert result.rc == 0, result.text
    predictions = [json.loads(line) for line in result.out.splitlines()]
    classes = list(CIFAR10_NAMES)
    confusion = [[0] * 10 for _ in classes]
    for path, p in zip(files, predictions):
        confusion[classes.index(path.parent.name)][classes.index(p["top"][0][0])] += 1
    evaluated = _eval(capsys, "resnet20.cifar10", "--data", "folder", "--root", cifar["folder"])
    assert confusion == evaluated["confusion"]


def test_folder_classes_are_matched_by_name(cifar, by_name, capsys, tmp_path):
    """Three of the ten classes, which a count or position match would score as classes
    0-2, and folders named otherwise than the model's classes."""
    whole = _eval(capsys, "resnet20.cifar10", "--data", "folder", "--root", cifar["folder"])
    some = tmp_path / "some"
    for name in ("truck", "cat", "ship"):
        (some / name).mkdir(parents=True)
        for f in (cifar["folder"] / "test" / name).iterdir():
            (some / name / f.name).write_bytes(f.read_bytes())
    part = _eval(capsys, "resnet20.cifar10", "--data", "folder", "--root", some)
    assert part["count"] == 3 * TEST
    absent = [c for c in CIFAR10_NAMES if c not in ("truck", "cat", "ship")]
    assert [part["per_class_accuracy"][CIFAR10_NAMES.index(c)] for c in absent] == [None] * 7
    for name in ("truck", "cat", "ship"):
        i = CIFAR10_NAMES.index(name)
        assert part["confusion"][i] == whole["confusion"][i]

    renamed = tmp_path / "renamed"
    for name in ("plane", "car"):
        (renamed / name).mkdir(parents=True)
        source = cifar["folder"] / "test" / ("airplane" if name == "plane" else "automobile")
        for f in source.iterdir():
            (renamed / name / f.name).write_bytes(f.read_bytes())
    result = reslab(capsys, "eval", "resnet20.cifar10", "--data", "folder", "--root", renamed)
    assert result.rc == 2
    (line,) = result.error_lines()
    assert "[car, plane]" in line and "[airplane, automobile, bird" in line


def test_a_weights_file_whose_classes_are_in_another_order(cifar, by_name, capsys, tmp_path):
    """A reslab weights file whose outputs stand for the classes in reverse order: scored by
    name, it gives the same confusion as the original."""
    whole = _eval(capsys, "resnet20.cifar10", "--data", "folder", "--root", cifar["folder"])
    model = models.create("resnet20")
    model.load_state_dict(by_name.state_dict())
    with torch.no_grad():
        model.fc.weight.copy_(model.fc.weight.flip(0))
        model.fc.bias.copy_(model.fc.bias.flip(0))
    meta = hub.get_weights("resnet20", "cifar10").inference_metadata()
    meta["classes"] = list(reversed(CIFAR10_NAMES))
    path = models.save_weights(model, tmp_path / "reversed.safetensors", meta)
    result = _eval(capsys, path, "--data", "folder", "--root", cifar["folder"])
    reverse = [row[::-1] for row in whole["confusion"][::-1]]
    assert result["classes"] == meta["classes"] and result["confusion"] == reverse
    assert result["top1_accuracy"] == pytest.approx(whole["top1_accuracy"])


def test_a_folder_of_mixed_sizes(by_name, capsys, tmp_path):
    """Images of other sizes are scaled to cover 32x32 and centre-cropped, by eval and predict
    alike; a CIFAR recipe refuses to train on them unless data.image_size says how."""
    root = tmp_path / "mixed"
    sizes = [(32, 32), (40, 30), (64, 64), (30, 45)]
    for split in ("train", "test"):
        for label, name in enumerate(("bird", "frog")):
            (root / split / name).mkdir(parents=True)
            for i, size in enumerate(sizes):
                image = _crops(1, seed=10 * label + i, size=size)[0]
                image.save(root / split / name / f"{i}.{'jpg' if i % 2 else 'png'}", quality=90)
    files = sorted((root / "test").rglob("*.*"))
    result = reslab(capsys, "predict", "resnet20.cifar10", *files, "--topk", "1", "--json")
    assert result.rc == 0, result.text
    classes = list(CIFAR10_NAMES)
    confusion = [[0] * 10 for _ in classes]
    for path, p in zip(files, [json.loads(line) for line in result.out.splitlines()]):
        confusion[classes.index(path.parent.name)][classes.index(p["top"][0][0])] += 1
    evaluated = _eval(capsys, "resnet20.cifar10", "--data", "folder", "--root", root)
    assert evaluated["count"] == 8 and evaluated["confusion"] == confusion

    common = ["data.name=folder", f"data.root={root}", f"out_dir={tmp_path / 'runs'}",
              "train.iterations=2", "train.eval_every=2", "train.checkpoint_every=2",
              "data.batch_size=4", "data.val_size=0", "train.progress=false"]  # fmt: skip
    refused = reslab(capsys, "train", "cifar10_resnet20", *common, "name=a")
    assert refused.rc == 2 and "data.image_size" in refused.error_lines()[0]
    trained = reslab(capsys, "train", "cifar10_resnet20", *common, "data.image_size=32", "name=b")
    assert trained.rc == 0, trained.text
    spec = json.loads((tmp_path / "runs" / "b" / "model.json").read_text())
    assert spec["image_size"] == [32, 32] and spec["resize"] is None


def test_a_cifar_recipe_trains_a_folder_as_its_archive(cifar, capsys, tmp_path):
    """The same images, the same input and augmentation whichever form they come in."""
    from reslab.engine import load_config
    from reslab.engine.distributed import DistInfo
    from reslab.engine.setup import build_data

    def data(*overrides: str):
        cfg = load_config("cifar10_resnet20", ["data.val_size=0", "data.batch_size=8", *overrides])
        return build_data(cfg, torch.device("cpu"), DistInfo())

    folder = data("data.name=folder", f"data.root={cifar['folder']}")
    archive = data(f"data.root={cifar['archive']}")
    for form in (folder, archive):
        assert form.inputs == archive.inputs  # 32x32 native, the training set's statistics
        assert form.inputs.native and form.inputs.image_size == (32, 32)
    assert folder.train.augment.cfg == archive.train.augment.cfg  # pad-4 crop, flip

    def images(d) -> list[bytes]:
        ds = d.train.dataset
        return sorted(bytes(x.numpy()) + bytes([int(y)]) for x, y in zip(ds.images, ds.labels))

    assert images(folder) == images(archive)

    run = tmp_path / "runs" / "f"
    result = reslab(
        capsys, "train", "cifar10_resnet20", "data.name=folder", f"data.root={cifar['folder']}",
        "data.val_size=0", "train.iterations=2", "train.eval_every=2", "train.checkpoint_every=2",
        "data.batch_size=8", f"out_dir={run.parent}", "name=f", "train.progress=false",
    )  # fmt: skip
    assert result.rc == 0, result.text
    spec = json.loads((run / "model.json").read_text())
    assert spec["image_size"] == [32, 32] and spec["resize"] is None
    assert spec["mean"] == pytest.approx(list(archive.mean))
    evaluated = _eval(capsys, run)  # the run's own folder, its test/ split, 32x32 untouched
    assert evaluated["count"] == 10 * TEST
