"""Residual blocks and shortcuts, post-activation (He et al. 2015) and pre-activation (2016).

Attribute names follow torchvision (conv1/bn1/conv2/bn2[/conv3/bn3], downsample.0/.1) so that
state dicts load without renaming.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

Shortcut = Literal["A", "B", "C", "none"]
StrideOn = Literal["3x3", "1x1"]


def conv3x3(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False)


class PadShortcut(nn.Module):
    """Option A: a parameter-free identity that subsamples space and zero-pads channels.

    The identity sits in the middle channels (zeros on both sides), the layout of the widely
    used PyTorch CIFAR reproduction, so its published weights load unchanged.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.pad_front = (out_ch - in_ch) // 2
        self.pad_back = out_ch - in_ch - self.pad_front

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.pad_front or self.pad_back:
            x = F.pad(x, (0, 0, 0, 0, self.pad_front, self.pad_back))
        return x

    def add_to_(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``out += self(x)`` in place, without building the zero-padded copy: only the middle
        channels of ``out`` receive the subsampled identity."""
        if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
            # tracing exporters lose the write through the view: add the padded copy instead
            return out.add_(self(x))
        sub = x[:, :, :: self.stride, :: self.stride] if self.stride > 1 else x
        out.narrow(1, self.pad_front, x.shape[1]).add_(sub)
        return out

    def extra_repr(self) -> str:
        return f"stride={self.stride}, pad=({self.pad_front}, {self.pad_back})"


def make_shortcut(
    option: Shortcut, in_ch: int, out_ch: int, stride: int, preact: bool
) -> nn.Module | None:
    """The shortcut of one block, or None for the identity (and for plain nets).

    A: identity, zero-padded where the shape changes. B: 1x1 projection where the shape
    changes, identity elsewhere. C: 1x1 projection everywhere. Pre-activation projections have
    no BN of their own: they take the block's pre-activated (BN-ReLU'd) input, as in the
    authors' code (KaimingHe/resnet-1k-layers, resnet-pre-act.lua).
    """
    if option == "none":
        return None
    changes = stride != 1 or in_ch != out_ch
    if option == "A":
        return PadShortcut(in_ch, out_ch, stride) if changes else None
    if option == "C" or changes:
        if preact:
            return nn.Sequential(conv1x1(in_ch, out_ch, stride))
        return nn.Sequential(conv1x1(in_ch, out_ch, stride), nn.BatchNorm2d(out_ch))
    return None


def _first_norm(channels: int, pre_activated: bool) -> nn.Module:
    """The block's first BN; none when its input is already pre-activated (see ResNet)."""
    return nn.Identity() if pre_activated else nn.BatchNorm2d(channels)


class _Block(nn.Module):
    """What both block types share: the shortcut path.

    The addition is done in place on the main path's last output (a BN output, or a conv
    output in pre-activation blocks), as torchvision does: neither layer needs its output for
    backward, and the step makes one fewer pass over memory. Forward hooks on that layer see
    its output before the addition, as long as they read it in the hook.
    """

    preact: bool
    pre_activated: bool
    """A pre-activation block whose input is already BN-ReLU'd (the net's first block): it has
    no BN-ReLU of its own, and both its branches see that input."""
    residual: bool
    downsample: nn.Module | None
    drop_path: nn.Module | None
    """Stochastic depth on the residual branch (see ResNet.set_stochastic_depth); None: off."""

    def _add_shortcut_(self, out: torch.Tensor, x: torch.Tensor, pre: torch.Tensor) -> torch.Tensor:
        """``out + shortcut``, written into ``out``. ``x`` is the block input, ``pre`` its
        pre-activated form (``x`` itself in post-activation blocks)."""
        if not self.residual:
            return out
        if self.drop_path is not None:  # stochastic depth: drop the residual branch, keep x
            out = self.drop_path(out)
        if self.downsample is None:
            return out.add_(x)
        if isinstance(self.downsample, PadShortcut):  # option A acts on the raw input
            return self.downsample.add_to_(out, x)
        return out.add_(self.downsample(pre))  # a projection acts on the pre-activated input


class BasicBlock(_Block):
    """Two 3x3 convs. Post-activation: conv-BN-ReLU-conv-BN, add, ReLU.
    Pre-activation: BN-ReLU-conv-BN-ReLU-conv, add (a clean identity path)."""

    expansion = 1

    def __init__(
        self,
        in_ch: int,
        width: int,
        stride: int = 1,
        *,
        shortcut: Shortcut = "B",
        preact: bool = False,
        stride_on: StrideOn = "3x3",
        pre_activated: bool = False,
    ) -> None:
        super().__init__()
        self.pre_activated = preact and pre_activated
        del stride_on  # a basic block has only 3x3 convs
        out_ch = width
        self.preact = preact
        self.residual = shortcut != "none"
        self.conv1 = conv3x3(in_ch, width, stride)
        self.bn1 = _first_norm(in_ch if preact else width, self.pre_activated)
        self.conv2 = conv3x3(width, out_ch)
        self.bn2 = nn.BatchNorm2d(width if preact else out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = make_shortcut(shortcut, in_ch, out_ch, stride, preact)
        self.drop_path = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preact:
            pre = x if self.pre_activated else self.relu(self.bn1(x))
            out = self.conv1(pre)
            out = self.conv2(self.relu(self.bn2(out)))
            return self._add_shortcut_(out, x, pre)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(self._add_shortcut_(out, x, x))

    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn2

    def last_conv(self) -> nn.Conv2d:
        return self.conv2

    def response_modules(self) -> list[tuple[str, nn.Module]]:
        """Modules whose output is a 3x3 layer's response (paper Fig. 7)."""
        if self.preact:
            return [("conv1", self.conv1), ("conv2", self.conv2)]
        return [("bn1", self.bn1), ("bn2", self.bn2)]


class Bottleneck(_Block):
    """1x1 reduce, 3x3, 1x1 expand (x4).

    The paper (v1) strides the first 1x1 conv; torchvision ("v1.5") strides the 3x3 conv, which
    is more accurate. ``stride_on`` selects either; "3x3" matches torchvision's weights.
    """

    expansion = 4

    def __init__(
        self,
        in_ch: int,
        width: int,
        stride: int = 1,
        *,
        shortcut: Shortcut = "B",
        preact: bool = False,
        stride_on: StrideOn = "3x3",
        pre_activated: bool = False,
    ) -> None:
        super().__init__()
        self.pre_activated = preact and pre_activated
        out_ch = width * self.expansion
        s1, s3 = (1, stride) if stride_on == "3x3" else (stride, 1)
        self.preact = preact
        self.residual = shortcut != "none"
        self.conv1 = conv1x1(in_ch, width, s1)
        self.bn1 = _first_norm(in_ch if preact else width, self.pre_activated)
        self.conv2 = conv3x3(width, width, s3)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, out_ch)
        self.bn3 = nn.BatchNorm2d(width if preact else out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = make_shortcut(shortcut, in_ch, out_ch, stride, preact)
        self.drop_path = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preact:
            pre = x if self.pre_activated else self.relu(self.bn1(x))
            out = self.conv1(pre)
            out = self.conv2(self.relu(self.bn2(out)))
            out = self.conv3(self.relu(self.bn3(out)))
            return self._add_shortcut_(out, x, pre)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(self._add_shortcut_(out, x, x))

    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn3

    def last_conv(self) -> nn.Conv2d:
        return self.conv3

    def response_modules(self) -> list[tuple[str, nn.Module]]:
        return [("conv2", self.conv2)] if self.preact else [("bn2", self.bn2)]


BLOCKS: dict[str, type[BasicBlock] | type[Bottleneck]] = {
    "basic": BasicBlock,
    "bottleneck": Bottleneck,
}
