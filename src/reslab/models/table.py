"""The model table behind `reslab models`: every registered net with its measured cost."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from reslab.models.hub import weight_tags
from reslab.models.profile import count_flops, count_params
from reslab.models.registry import create, default_num_classes, get_spec, list_models


@dataclass
class ModelRow:
    name: str
    family: str
    kind: str
    block: str
    shortcut: str
    preact: bool
    depth: int
    params: int
    gflops: float
    """Forward GFLOPs (2 FLOPs per multiply-add) at the native input size."""
    input_size: tuple[int, int, int]
    num_classes: int
    weights: tuple[str, ...] = ()
    """Published weights loadable by name (models.create(name, weights=...))."""

    def as_dict(self) -> dict:
        return asdict(self)


def describe(name: str, *, with_flops: bool = True) -> ModelRow:
    """Build the model on the 'meta' device (no memory, no compute) and measure it."""
    spec = get_spec(name)
    with torch.device("meta"):
        model = create(name)
    size = (3, *spec.input_size)
    flops = count_flops(model, size) if with_flops else 0
    return ModelRow(
        name=name,
        family=spec.family,
        kind=spec.kind,
        block=spec.block,
        shortcut=spec.shortcut,
        preact=spec.preact,
        depth=spec.depth,
        params=count_params(model),
        gflops=flops / 1e9,
        input_size=size,
        num_classes=default_num_classes(name),
        weights=tuple(weight_tags(name)),
    )


def model_table(pattern: str | None = None, *, with_flops: bool = True) -> list[ModelRow]:
    return [describe(n, with_flops=with_flops) for n in list_models(pattern)]


def stage_layout(name: str) -> list[dict]:
    """One row per stage: blocks, width, output channels, stride and output size."""
    spec = get_spec(name)
    with torch.device("meta"):
        model = create(name)
    x = torch.zeros((1, 3, *spec.input_size), device="meta")
    stem = model.maxpool(model.bn1(model.conv1(x)))
    rows = [
        {
            "stage": "stem",
            "blocks": 0,
            "out_channels": stem.shape[1],
            "stride": spec.input_size[0] // stem.shape[2],
            "output": _hw(stem),
            "params": count_params(model.conv1) + count_params(model.bn1),
        }
    ]
    features = model.forward_features(x)
    for i, (stage, feat) in enumerate(zip(model.stages(), features), start=1):
        rows.append(
            {
                "stage": f"layer{i}",
                "blocks": len(stage),
                "out_channels": feat.shape[1],
                "stride": 1 if i == 1 else 2,
                "output": _hw(feat),
                "params": count_params(stage),
            }
        )
    head = count_params(model.fc) + count_params(model.final_bn)
    rows.append(
        {
            "stage": "head",
            "blocks": 0,
            "out_channels": model.num_classes,
            "stride": 1,
            "output": "1x1",
            "params": head,
        }
    )
    return rows


def _hw(t: torch.Tensor) -> str:
    return f"{t.shape[2]}x{t.shape[3]}"
