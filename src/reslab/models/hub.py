"""Published weights by name: torchvision's ImageNet weights and two community CIFAR zoos.

>>> net = models.create("resnet56", weights="cifar10")             # doctest: +SKIP
>>> net = models.create("resnet20", weights="chenyaofo_cifar100")  # doctest: +SKIP
>>> net = models.create("resnet50", weights="IMAGENET1K_V2")       # doctest: +SKIP

Files are downloaded over https into torch.hub's cache (``torch.hub.get_dir()/checkpoints``),
checked against the sha256 prefix in their name, and loaded with :func:`load_weights`. A file
already in the cache is checked the same way and nothing is downloaded, so offline machines
work once the file is placed there by hand. Each entry also records the inputs the weights
expect (size, normalisation, class names), which ``reslab predict`` uses.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.error import URLError

import torch
from torch import nn

from reslab.errors import WeightsError
from reslab.models.weights import LoadReport, load_weights

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
# fmt: off
CIFAR100_CLASSES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle",
    "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle",
    "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch",
    "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox",
    "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom",
    "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
    "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake",
    "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank",
    "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle",
    "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)
# fmt: on
"""CIFAR-100's fine labels in label order (alphabetical): ``fine_label_names`` in the ``meta``
file of the official archive (https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz), the
names reslab.data.cifar reads from it."""

CIFAR10_URL = "https://github.com/akamaster/pytorch_resnet_cifar10/raw/master/pretrained_models/"
CIFAR10_FILES: dict[str, str] = {
    "resnet20": "resnet20-12fca82f.th",
    "resnet32": "resnet32-d509ac18.th",
    "resnet44": "resnet44-014dd654.th",
    "resnet56": "resnet56-4bfd9763.th",
    "resnet110": "resnet110-1d1ed7c2.th",
    "resnet1202": "resnet1202-f3b1deed.th",
}
"""akamaster/pytorch_resnet_cifar10's checkpoints (the reproduction in reslab.reference). The
hex digits in each name are the first 8 of the file's sha256. Trained on CIFAR-10 inputs
normalised with the ImageNet mean and std, at 32x32."""

CHENYAOFO_URL = "https://github.com/chenyaofo/pytorch-cifar-models/releases/download/resnet/"
CHENYAOFO_FILES: dict[str, dict[str, str]] = {
    "chenyaofo_cifar10": {
        "resnet20": "cifar10_resnet20-4118986f.pt",
        "resnet32": "cifar10_resnet32-ef93fc4d.pt",
        "resnet44": "cifar10_resnet44-2a3cabcb.pt",
        "resnet56": "cifar10_resnet56-187c023a.pt",
    },
    "chenyaofo_cifar100": {
        "resnet20": "cifar100_resnet20-23dac2f1.pt",
        "resnet32": "cifar100_resnet32-84213ce6.pt",
        "resnet44": "cifar100_resnet44-ffe32858.pt",
        "resnet56": "cifar100_resnet56-f2eff4c8.pt",
    },
}
"""chenyaofo/pytorch-cifar-models' ResNets (its torch.hub entry points cifar10_resnet20 ..
cifar100_resnet56) by weights tag, then model: the release files that
``cifar10_pretrained_weight_urls`` and ``cifar100_pretrained_weight_urls`` in its
pytorch_cifar_models/resnet.py name, the hex digits again the first 8 of the sha256. Plain
state dicts with torchvision's key names; where the shape changes a block's shortcut is a
1x1 conv + BN (option B), so they are reslab's nets with shortcut="B". Best test top-1 of
200 epochs (its README and training logs), ResNet-20/32/44/56: CIFAR-10
92.60/93.53/94.01/94.37, CIFAR-100 68.83/70.16/71.63/72.63."""
CHENYAOFO_INPUTS: dict[str, dict[str, tuple]] = {
    "chenyaofo_cifar10": {
        "mean": (0.4914, 0.4822, 0.4465),
        "std": (0.2023, 0.1994, 0.2010),
        "classes": CIFAR10_CLASSES,
    },
    "chenyaofo_cifar100": {
        "mean": (0.507, 0.4865, 0.4409),
        "std": (0.2673, 0.2564, 0.2761),
        "classes": CIFAR100_CLASSES,
    },
}
"""What chenyaofo's nets were trained and tested on: 32x32 CIFAR images as they are (no
resize), normalised with the data.mean and data.std that their training logs print (branch
'logs', logs/<dataset>/<model>/default.log); CIFAR-100's differ from CIFAR-10's."""
CHENYAOFO_MODEL_KWARGS = {"shortcut": "B"}

TORCHVISION_MODELS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
"""Registered nets whose weights are torchvision's (same state-dict keys, see the parity test)."""

CIFAR10_TAG = "cifar10"
DEFAULT = "DEFAULT"


@dataclass(frozen=True)
class PublishedWeights:
    """One published weights file and the inputs it was trained on."""

    model: str
    """The registered model the weights are for."""
    tag: str
    """Its name among that model's weights: 'cifar10', 'chenyaofo_cifar100', 'IMAGENET1K_V2'."""
    url: str
    num_classes: int
    image_size: tuple[int, int]
    resize: int | None
    """Shorter side before the centre crop (ImageNet); None: scale to cover image_size."""
    mean: tuple[float, ...]
    std: tuple[float, ...]
    classes: tuple[str, ...]
    model_kwargs: dict[str, Any] = field(default_factory=dict, hash=False)
    """Options the model is built with on top of its registered row, e.g. {'shortcut': 'B'}:
    models.create(model, weights=tag) applies them, and they travel in the metadata."""

    @property
    def name(self) -> str:
        """The recipe spelling, e.g. 'resnet56.cifar10' (usable as model.pretrained)."""
        return f"{self.model}.{self.tag}"

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    @property
    def hash_prefix(self) -> str:
        match = torch.hub.HASH_REGEX.search(self.file_name)
        if not match or len(match.group(1)) < 8:
            raise WeightsError(f"{self.file_name} carries no sha256 prefix to check it against")
        return match.group(1)

    @property
    def cache_path(self) -> Path:
        """Where torch.hub keeps the file; a file placed there by hand is used as is."""
        return Path(torch.hub.get_dir()) / "checkpoints" / self.file_name

    def inference_metadata(self) -> dict[str, Any]:
        """What ``reslab predict`` needs, in the form reslab stores beside its own weights."""
        return {
            "model": self.model,
            "num_classes": self.num_classes,
            "in_channels": 3,
            "image_size": list(self.image_size),
            "resize": self.resize,
            "mean": list(self.mean),
            "std": list(self.std),
            "classes": list(self.classes),
            "model_kwargs": dict(self.model_kwargs),
            "weights": self.name,
            "url": self.url,
        }


def weight_tags(model: str) -> list[str]:
    """The names of ``model``'s published weights ([] when it has none)."""
    tags = [CIFAR10_TAG] if model in CIFAR10_FILES else []
    tags += [tag for tag, files in CHENYAOFO_FILES.items() if model in files]
    if model in TORCHVISION_MODELS:
        import torchvision

        tags += [w.name for w in torchvision.models.get_model_weights(model)]
    return tags


def get_weights(model: str, tag: str = DEFAULT) -> PublishedWeights:
    """``model``'s weights named ``tag``; 'DEFAULT' is the best ones (as torchvision's)."""
    tags = weight_tags(model)
    if not tags:
        raise WeightsError(f"{model} has no published weights; `reslab models` lists those that do")
    if model in CIFAR10_FILES and tag in (DEFAULT, CIFAR10_TAG):
        return PublishedWeights(
            model=model,
            tag=CIFAR10_TAG,
            url=CIFAR10_URL + CIFAR10_FILES[model],
            num_classes=10,
            image_size=(32, 32),
            resize=None,
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
            classes=CIFAR10_CLASSES,
        )
    if model in CHENYAOFO_FILES.get(tag, {}):
        inputs = CHENYAOFO_INPUTS[tag]
        return PublishedWeights(
            model=model,
            tag=tag,
            url=CHENYAOFO_URL + CHENYAOFO_FILES[tag][model],
            num_classes=len(inputs["classes"]),
            image_size=(32, 32),
            resize=None,
            mean=inputs["mean"],
            std=inputs["std"],
            classes=inputs["classes"],
            model_kwargs=dict(CHENYAOFO_MODEL_KWARGS),
        )
    if model in TORCHVISION_MODELS and (tag == DEFAULT or tag in tags):
        import torchvision

        enum = torchvision.models.get_model_weights(model)
        weights = enum.DEFAULT if tag == DEFAULT else enum[tag]
        transform = weights.transforms()
        categories = tuple(weights.meta["categories"])
        return PublishedWeights(
            model=model,
            tag=weights.name,
            url=weights.url,
            num_classes=len(categories),
            image_size=(transform.crop_size[0], transform.crop_size[0]),
            resize=transform.resize_size[0],
            mean=tuple(transform.mean),
            std=tuple(transform.std),
            classes=categories,
        )
    raise WeightsError(
        f"{model} has no weights named {tag!r}; choose one of {', '.join([DEFAULT, *tags])}"
    )


def published_names() -> list[str]:
    """Every published weights name, '<model>.<tag>' ('resnet56.cifar10', ...)."""
    from reslab.models.registry import list_models

    return [f"{m}.{tag}" for m in list_models() for tag in weight_tags(m)]


def close_names(text: str) -> list[str]:
    """Published weights names close to ``text`` (for "did you mean")."""
    import difflib

    return difflib.get_close_matches(str(text), published_names(), n=3, cutoff=0.8)


def parse_weights_name(text: str) -> PublishedWeights | None:
    """The weights a recipe names as '<model>.<tag>' ('resnet56.cifar10'), or None if ``text``
    is not such a name (then it is a path)."""
    model, dot, tag = str(text).partition(".")
    if not dot or not weight_tags(model) or "/" in tag or os.sep in tag:
        return None
    try:
        return get_weights(model, tag)
    except WeightsError as e:
        raise WeightsError(f"{text} is neither a file nor published weights: {e}") from None


def for_file(path: str | os.PathLike) -> PublishedWeights | None:
    """The published weights whose file name ``path`` has (a cached or hand-placed copy)."""
    name = Path(path).name
    for model, file_name in CIFAR10_FILES.items():
        if file_name == name:
            return get_weights(model, CIFAR10_TAG)
    for tag, files in CHENYAOFO_FILES.items():
        for model, file_name in files.items():
            if file_name == name:
                return get_weights(model, tag)
    for model in TORCHVISION_MODELS:
        for tag in weight_tags(model):
            weights = get_weights(model, tag)
            if weights.file_name == name:
                return weights
    return None


def download(weights: PublishedWeights, *, progress: bool = False) -> Path:
    """The checked local copy of ``weights``, downloaded into torch.hub's cache if missing."""
    path = weights.cache_path
    if path.is_file():
        check_hash(path, weights)
        return path
    if not weights.url.startswith("https://"):
        raise WeightsError(f"refusing to download {weights.url}: only https URLs are used")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # writes a temporary file beside ``path``, checks the sha256 prefix, then renames it
        torch.hub.download_url_to_file(
            weights.url, str(path), hash_prefix=weights.hash_prefix, progress=progress
        )
    except RuntimeError as e:  # torch.hub's hash mismatch; the partial file is removed
        raise WeightsError(
            f"{weights.url} does not match the sha256 prefix {weights.hash_prefix} in its name "
            f"({_one_line(e)}); nothing was saved: try again, or place a good copy at {path}"
        ) from None
    except (URLError, OSError, ValueError) as e:
        raise WeightsError(
            f"cannot download {weights.url} ({_one_line(getattr(e, 'reason', e))}); "
            f"without network access, place that file at {path}"
        ) from None
    return path


def check_hash(path: Path, weights: PublishedWeights) -> None:
    """Fail unless ``path``'s sha256 starts with the prefix in the published file name."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    if not digest.hexdigest().startswith(weights.hash_prefix):
        raise WeightsError(
            f"{path} does not match the sha256 prefix {weights.hash_prefix} in its name (it "
            f"has {digest.hexdigest()[:8]}): delete it so it downloads again from {weights.url}"
        )


def load_published(
    model: nn.Module, weights: PublishedWeights, *, progress: bool = False
) -> LoadReport:
    """Download (or find in the cache) and load ``weights`` into ``model``. A model built for a
    different number of classes keeps its own classifier (for fine-tuning)."""
    path = download(weights, progress=progress)
    try:
        return load_weights(
            model, path, skip_head=getattr(model, "num_classes", None) != weights.num_classes
        )
    except WeightsError as e:
        raise WeightsError(
            f"{e} (published weights {weights.name}; delete {path} if it is a bad copy)"
        ) from None


def resolve_pretrained(source: str | os.PathLike, *, progress: bool = True) -> Path:
    """The weights file that a ``model.pretrained`` value names: an existing file, a run
    directory's final weights, or published weights by name ('resnet56.cifar10'), fetched."""
    path = Path(source).expanduser()
    if path.is_dir():
        return path / "final.safetensors"
    if path.exists():
        return path
    published = parse_weights_name(str(source))
    return download(published, progress=progress) if published else path


def _one_line(e: object) -> str:
    return " ".join(str(e).split())[:200]


__all__ = [
    "CHENYAOFO_FILES",
    "CIFAR100_CLASSES",
    "CIFAR10_CLASSES",
    "CIFAR10_FILES",
    "PublishedWeights",
    "check_hash",
    "close_names",
    "download",
    "for_file",
    "get_weights",
    "load_published",
    "parse_weights_name",
    "published_names",
    "resolve_pretrained",
    "weight_tags",
]
