"""The registry: every named ResNet of the papers is one row of a table.

Adding a row needs no new class. A repeated name raises, and tests parametrize over
:func:`list_models`, so every row is tested.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
from typing import Any

from reslab.errors import ConfigError
from reslab.models.resnet import ResNet, ResNetSpec

_REGISTRY: dict[str, ResNetSpec] = {}
_DEFAULT_CLASSES: dict[str, int] = {}

CIFAR_WIDTHS = (16, 32, 64)
IMAGENET_WIDTHS = (64, 128, 256, 512)


def register_model(name: str, spec: ResNetSpec, *, num_classes: int) -> None:
    """Add a named model. Names are unique: registering one twice is an error."""
    if name in _REGISTRY:
        raise ValueError(f"model {name!r} is already registered")
    _REGISTRY[name] = spec
    _DEFAULT_CLASSES[name] = num_classes


def list_models(pattern: str | None = None) -> list[str]:
    """Registered names in table order, optionally filtered by a glob or substring."""
    names = list(_REGISTRY)
    if pattern:
        glob = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
        names = [n for n in names if fnmatch.fnmatch(n, glob)]
    return names


def get_spec(name: str) -> ResNetSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else "run `reslab models` to list them"
        raise ConfigError(f"unknown model {name!r}: {hint}") from None


def default_num_classes(name: str) -> int:
    get_spec(name)
    return _DEFAULT_CLASSES[name]


_SPEC_FIELDS = {f.name for f in dataclasses.fields(ResNetSpec)}
_MODEL_KWARGS = (
    "num_classes",
    "in_channels",
    "zero_init_residual",
    "features_only",
    "activation_checkpointing",
    "dropout",
)


def create(
    name: str, *, weights: str | None = None, pretrained: bool = False, **kwargs: Any
) -> ResNet:
    """Build a registered model.

    Keyword arguments are either model options (num_classes, in_channels, zero_init_residual,
    features_only, activation_checkpointing, dropout) or spec overrides (shortcut, stride_on,
    preact, ...), e.g. ``create("resnet20", shortcut="B", num_classes=100)``.

    ``weights`` names published weights to load ('cifar10' for the CIFAR-10 ResNets,
    'chenyaofo_cifar10'/'chenyaofo_cifar100' for ResNet-20..56, torchvision's
    'IMAGENET1K_V1'/'IMAGENET1K_V2' for ResNet-18..152, or 'DEFAULT'); ``pretrained=True``
    means ``weights="DEFAULT"``. The number of classes and the options the weights were trained
    with (shortcut="B" for chenyaofo's) then default to the weights'; another number of classes
    keeps a fresh classifier. ``reslab models`` lists them.
    """
    spec = get_spec(name)
    if pretrained and weights is None:
        weights = "DEFAULT"
    published = None
    if weights is not None:
        from reslab.models import hub

        published = hub.get_weights(name, weights)
        kwargs = {**published.model_kwargs, "num_classes": published.num_classes, **kwargs}
    overrides = {k: kwargs.pop(k) for k in list(kwargs) if k in _SPEC_FIELDS}
    unknown = sorted(set(kwargs) - set(_MODEL_KWARGS))
    if unknown:
        valid = ", ".join(sorted(_SPEC_FIELDS | set(_MODEL_KWARGS)))
        raise ConfigError(f"unknown option(s) {', '.join(unknown)} for create(); valid: {valid}")
    if overrides:
        spec = dataclasses.replace(spec, **overrides)
    kwargs.setdefault("num_classes", _DEFAULT_CLASSES[name])
    model = ResNet(spec, **kwargs)
    model.name = name  # type: ignore[assignment]
    if published is not None:
        hub.load_published(model, published)
    return model


def _register_family() -> None:
    # CIFAR-10 nets, paper section 4.2: 6n+2 layers, option A shortcuts.
    for n in (3, 5, 7, 9, 18, 200):
        depth = 6 * n + 2
        for prefix, shortcut in (("resnet", "A"), ("plain", "none")):
            register_model(
                f"{prefix}{depth}",
                ResNetSpec("cifar", "basic", (n, n, n), CIFAR_WIDTHS, shortcut),
                num_classes=10,
            )
    # ImageNet nets, paper Table 1: option B shortcuts, torchvision's v1.5 bottleneck stride.
    imagenet = {
        18: ("basic", (2, 2, 2, 2)),
        34: ("basic", (3, 4, 6, 3)),
        50: ("bottleneck", (3, 4, 6, 3)),
        101: ("bottleneck", (3, 4, 23, 3)),
        152: ("bottleneck", (3, 8, 36, 3)),
    }
    for depth, (block, layers) in imagenet.items():
        for prefix, shortcut in (("resnet", "B"), ("plain", "none")):
            spec = ResNetSpec(
                "imagenet", block, layers, IMAGENET_WIDTHS, shortcut, input_size=(224, 224)
            )
            register_model(f"{prefix}{depth}", spec, num_classes=1000)
    # Pre-activation nets (He et al. 2016). CIFAR: basic 110 (6n+2, option A as in the 2015
    # ResNet-110 it is compared with); bottleneck 164 and 1001 (9n+2) with projections, the
    # stride on the first 1x1 conv as in the authors' KaimingHe/resnet-1k-layers
    # resnet-pre-act.lua (ImageNet pre-act nets stride the 3x3, as fb.resnet.torch's
    # preresnet.lua does).
    preact_cifar = {
        110: ("basic", 18, "A"),
        164: ("bottleneck", 18, "B"),
        1001: ("bottleneck", 111, "B"),
    }
    for depth, (block, n, shortcut) in preact_cifar.items():
        for prefix, sc in (("preact_resnet", shortcut), ("preact_plain", "none")):
            stride_on = "1x1" if block == "bottleneck" else "3x3"
            spec = ResNetSpec(
                "cifar", block, (n, n, n), CIFAR_WIDTHS, sc, preact=True, stride_on=stride_on
            )
            register_model(f"{prefix}{depth}", spec, num_classes=10)
    for depth in (18, 34, 50, 101, 152):
        block, layers = imagenet[depth]
        for prefix, sc in (("preact_resnet", "B"), ("preact_plain", "none")):
            spec = ResNetSpec(
                "imagenet", block, layers, IMAGENET_WIDTHS, sc, preact=True, input_size=(224, 224)
            )
            register_model(f"{prefix}{depth}", spec, num_classes=1000)


_register_family()
