"""The one ResNet class. CIFAR and ImageNet nets, plain twins and pre-activation variants are
all the same class, configured by a :class:`ResNetSpec` (variants are data, not classes)."""

from __future__ import annotations

from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from reslab.errors import ConfigError
from reslab.models.blocks import BLOCKS, Shortcut, StrideOn

Family = Literal["cifar", "imagenet"]
BlockType = Literal["basic", "bottleneck"]

_SHORTCUTS = ("A", "B", "C", "none")
_STRIDE_ON = ("3x3", "1x1")


@dataclass(frozen=True)
class ResNetSpec:
    """Everything that distinguishes one ResNet of the papers from another."""

    family: Family
    """'cifar': 3x3 stem, no max-pool, 32x32 input. 'imagenet': 7x7/2 stem + 3x3/2 max-pool."""
    block: BlockType
    """'basic' (two 3x3 convs) or 'bottleneck' (1x1-3x3-1x1, 4x expansion)."""
    layers: tuple[int, ...]
    """Blocks per stage, e.g. (3, 4, 6, 3) for ResNet-50 or (3, 3, 3) for ResNet-20."""
    widths: tuple[int, ...]
    """Inner width of each stage (a bottleneck stage outputs 4x this)."""
    shortcut: Shortcut = "B"
    """'A' zero-pad identity, 'B' projection where the shape changes, 'C' projection
    everywhere, 'none' for a plain net with no shortcut at all."""
    preact: bool = False
    """Pre-activation blocks (BN-ReLU-conv, He et al. 2016)."""
    stride_on: StrideOn = "3x3"
    """Bottleneck stride on the 3x3 conv (torchvision v1.5) or the first 1x1 (paper v1)."""
    stem_width: int = field(default=0)
    """Channels of the stem conv; 0 means the first stage's width."""
    input_size: tuple[int, int] = (32, 32)
    """The native input size (for profiles and the model table)."""

    def __post_init__(self) -> None:
        if self.family not in ("cifar", "imagenet"):
            raise ConfigError(f"family must be 'cifar' or 'imagenet', got {self.family!r}")
        if self.block not in BLOCKS:
            raise ConfigError(f"block must be one of {sorted(BLOCKS)}, got {self.block!r}")
        if self.shortcut not in _SHORTCUTS:
            raise ConfigError(f"shortcut must be one of {_SHORTCUTS}, got {self.shortcut!r}")
        if self.stride_on not in _STRIDE_ON:
            raise ConfigError(f"stride_on must be one of {_STRIDE_ON}, got {self.stride_on!r}")
        if len(self.layers) != len(self.widths) or not self.layers:
            raise ConfigError("layers and widths must be non-empty and of the same length")
        if any(n < 1 for n in self.layers):
            raise ConfigError(f"every stage needs at least one block, got layers={self.layers}")

    @property
    def depth(self) -> int:
        """Weighted layers as the paper counts them: main-path convs plus the classifier."""
        convs_per_block = 2 if self.block == "basic" else 3
        return 1 + convs_per_block * sum(self.layers) + 1

    @property
    def kind(self) -> str:
        return "plain" if self.shortcut == "none" else "residual"


class ResNet(nn.Module):
    """A deep residual network (or its plain twin) built from a :class:`ResNetSpec`.

    Module names match torchvision's ResNet (conv1, bn1, layer1.., fc), so torchvision state
    dicts load with strict=True. With ``features_only=True`` the classifier is not built and
    ``forward`` returns the per-stage feature maps, for use as a detection/segmentation backbone.
    """

    def __init__(
        self,
        spec: ResNetSpec,
        *,
        num_classes: int = 1000,
        in_channels: int = 3,
        zero_init_residual: bool = False,
        features_only: bool = False,
        activation_checkpointing: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if num_classes < 1 or in_channels < 1:
            raise ConfigError(
                f"num_classes and in_channels must be positive, got {num_classes}, {in_channels}"
            )
        self.spec = spec
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.features_only = features_only
        self.activation_checkpointing = activation_checkpointing

        stem_width = spec.stem_width or spec.widths[0]
        if spec.family == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, stem_width, 7, stride=2, padding=3, bias=False)
            self.maxpool: nn.Module = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        else:
            self.conv1 = nn.Conv2d(in_channels, stem_width, 3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(stem_width)
        self.relu = nn.ReLU(inplace=True)

        # Pre-activation nets follow the authors' code. The stem's BN-ReLU is the first block's
        # pre-activation, shared by its residual branch and its shortcut; the block adds no
        # second BN-ReLU (facebook/fb.resnet.torch models/preresnet.lua: the stem is
        # conv-BN-ReLU(-maxpool) and the 'first' block skips its BN-ReLU, ImageNet and CIFAR;
        # KaimingHe/resnet-1k-layers resnet-pre-act.lua: a stem conv, then the first unit's
        # "common BN, ReLU" feeding both branches, which computes the same). Later blocks that
        # change the shape share their BN-ReLU with the projection shortcut, which has no BN of
        # its own (resnet-pre-act.lua; see make_shortcut). preresnet.lua departs there: its
        # projections act on the raw input and end in a BN; reslab follows the 1k-layers code.
        block_cls = BLOCKS[spec.block]
        in_ch = stem_width
        self.stage_channels: list[int] = []
        for i, (n_blocks, width) in enumerate(zip(spec.layers, spec.widths), start=1):
            stride = 1 if i == 1 else 2
            blocks = []
            for b in range(n_blocks):
                blocks.append(
                    block_cls(
                        in_ch,
                        width,
                        stride if b == 0 else 1,
                        shortcut=spec.shortcut,
                        preact=spec.preact,
                        stride_on=spec.stride_on,
                        pre_activated=i == 1 and b == 0,
                    )
                )
                in_ch = width * block_cls.expansion
            self.add_module(f"layer{i}", nn.Sequential(*blocks))
            self.stage_channels.append(in_ch)
        self.num_stages = len(spec.layers)
        self.num_features = in_ch
        # Pre-activation nets end with BN-ReLU before pooling, since blocks end in a conv.
        self.final_bn: nn.Module = nn.BatchNorm2d(in_ch) if spec.preact else nn.Identity()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc: nn.Linear | None = None if features_only else nn.Linear(in_ch, num_classes)
        self._init_weights(zero_init_residual)

    def _init_weights(self, zero_init_residual: bool) -> None:
        # He et al.: Kaiming-normal convs; BN starts as the identity.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for block in self.blocks():
                # Post-activation: zero the last BN gamma. Pre-activation blocks end in a conv,
                # so zero that conv instead; either way each block starts as the identity.
                if block.preact:
                    nn.init.zeros_(block.last_conv().weight)
                else:
                    nn.init.zeros_(block.last_bn().weight)

    def set_stochastic_depth(self, max_prob: float) -> list[float]:
        """Stochastic depth (Huang et al. 2016, "row" mode): in training, each block drops its
        residual branch for a random subset of the batch's samples and keeps the shortcut; in
        eval mode it is the identity. Block i of N (counted over the whole net from 1) drops
        with probability ``max_prob * i / N``, the paper's linear decay. Returns the
        probabilities; 0 removes it. Plain nets are refused: they have no shortcut to keep."""
        from torchvision.ops import StochasticDepth

        if not 0.0 <= max_prob < 1.0:
            raise ConfigError(f"stochastic depth must be in [0, 1), got {max_prob!r}")
        if max_prob > 0 and self.spec.shortcut == "none":
            raise ConfigError(
                "model.stochastic_depth drops residual branches and keeps the shortcut, but a "
                "plain net has no shortcut: leave it at 0 for plain nets"
            )
        blocks = self.blocks()
        probs = [max_prob * i / len(blocks) for i in range(1, len(blocks) + 1)]
        for block, p in zip(blocks, probs):
            drop = StochasticDepth(p, mode="row").train(self.training) if p > 0 else None
            block.drop_path = drop  # in the model's mode: identity in eval
        return probs if max_prob > 0 else [0.0] * len(blocks)

    def stages(self) -> list[nn.Sequential]:
        return [getattr(self, f"layer{i}") for i in range(1, self.num_stages + 1)]

    def blocks(self) -> list[nn.Module]:
        return [block for stage in self.stages() for block in stage]

    def response_modules(self) -> list[tuple[str, nn.Module]]:
        """Every 3x3 layer's response point (after BN, before ReLU/addition; paper Fig. 7)."""
        out: list[tuple[str, nn.Module]] = []
        if self.spec.family == "cifar":
            out.append(("bn1", self.bn1))
        for si, stage in enumerate(self.stages(), start=1):
            for bi, block in enumerate(stage):
                out += [(f"layer{si}.{bi}.{n}", m) for n, m in block.response_modules()]
        return out

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The output of every stage, highest resolution first."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        features = []
        for stage in self.stages():
            if self.activation_checkpointing and self.training and torch.is_grad_enabled():
                x = checkpoint(
                    stage, x, use_reentrant=False, context_fn=partial(_keep_bn_stats, stage)
                )
            else:
                x = stage(x)
            features.append(x)
        if self.spec.preact:
            features[-1] = self.relu(self.final_bn(features[-1]))
        return features

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.avgpool(x), 1)
        assert self.fc is not None
        return self.fc(self.dropout(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        features = self.forward_features(x)
        if self.features_only:
            return features
        return self.forward_head(features[-1])

    def reset_classifier(self, num_classes: int) -> None:
        """A fresh head for fine-tuning on a different number of classes."""
        self.fc = nn.Linear(self.num_features, num_classes)
        self.num_classes = num_classes


def _keep_bn_stats(
    stage: nn.Module,
) -> tuple[AbstractContextManager[None], AbstractContextManager[None]]:
    """Checkpoint contexts (forward, recomputation) for ``stage``: the recomputation runs BN in
    training mode a second time, so its running statistics are put back as the forward left
    them (otherwise every step would update them twice)."""

    @contextmanager
    def recompute():
        live = [
            t
            for m in stage.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
            for t in (m.running_mean, m.running_var, m.num_batches_tracked)
            if t is not None
        ]
        # multi-tensor kernels: a deep stage has hundreds of BN layers, and a clone and a copy
        # per buffer would be thousands of tiny launches every step
        saved = torch._foreach_mul(live, 1) if live else []
        try:
            yield
        finally:
            if live:
                with torch.no_grad():
                    torch._foreach_copy_(live, saved)

    return nullcontext(), recompute()
