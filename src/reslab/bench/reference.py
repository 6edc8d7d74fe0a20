"""The eager reference that `reslab bench` measures reslab against, written plainly on purpose.

- Networks, written here independently of ``reslab.models`` as straightforward eager code:
  a CIFAR ResNet (He et al. 2015, section 4.2: 3x3 stem, three stages of basic blocks,
  option-A shortcuts by slicing and zero-padding, as the common PyTorch reproductions write
  it) and an ImageNet ResNet (torchvision's layout: 7x7 stem + max-pool, basic or bottleneck
  blocks with the stride on the 3x3 conv, 1x1 projection shortcuts where the shape changes).
  Registered models of other kinds (plain and pre-activation nets) fall back to reslab's own
  model in its plain default configuration.
- Step: fp32, NCHW, no compile, ``torch.optim.SGD`` with its default implementation choice
  (a per-parameter loop on CPU), lr 0.1, momentum 0.9, weight decay 1e-4.
- Data (e2e): torchvision style, a Dataset of uint8 images returning PIL images through
  RandomCrop(size, padding) + RandomHorizontalFlip + ToTensor + Normalize, in DataLoader worker
  processes, pinned memory on CUDA.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reslab.models import create, default_num_classes, get_spec


# ----------------------------------------------------------------------------- networks
class CifarBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.stride = stride
        self.pad = (out_ch - in_ch) // 2

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1 and self.pad == 0:
            return x
        return F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, self.pad, self.pad))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)


class CifarResNet(nn.Module):
    """6n+2 layers: 16-32-64 filters, option-A shortcuts."""

    def __init__(self, n: int, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, in_ch = [], 16
        for width, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(n):
                layers.append(CifarBlock(in_ch, width, stride if i == 0 else 1))
                in_ch = width
        self.layers = nn.Sequential(*layers)
        self.linear = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layers(out)
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_ch: int, width: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _projection(in_ch, width, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_ch: int, width: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _projection(in_ch, width * 4, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)


def _projection(in_ch: int, out_ch: int, stride: int) -> nn.Module | None:
    if stride == 1 and in_ch == out_ch:
        return None
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch))


class ImageNetResNet(nn.Module):
    """7x7/2 stem, 3x3/2 max-pool, four stages (64-128-256-512), projection shortcuts."""

    def __init__(self, block: type[nn.Module], layers: tuple[int, ...], num_classes: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages, in_ch = [], 64
        for i, (n, width) in enumerate(zip(layers, (64, 128, 256, 512))):
            blocks = []
            for b in range(n):
                blocks.append(block(in_ch, width, 2 if i > 0 and b == 0 else 1))
                in_ch = width * block.expansion  # type: ignore[attr-defined]
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(in_ch, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.stages(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def reference_model(name: str) -> tuple[nn.Module, str]:
    """The eager reference twin of a registered model, and a word on what it is."""
    spec = get_spec(name)
    classes = default_num_classes(name)
    plain_post_act = not spec.preact and spec.stem_width == 0
    if (
        plain_post_act
        and spec.family == "cifar"
        and spec.block == "basic"
        and spec.shortcut == "A"
        and spec.widths == (16, 32, 64)
        and len(set(spec.layers)) == 1
    ):
        return CifarResNet(spec.layers[0], classes), "bench.reference.CifarResNet"
    if (
        plain_post_act
        and spec.family == "imagenet"
        and spec.shortcut == "B"
        and spec.stride_on == "3x3"
        and spec.widths == (64, 128, 256, 512)
    ):
        block = BasicBlock if spec.block == "basic" else Bottleneck
        return ImageNetResNet(block, spec.layers, classes), "bench.reference.ImageNetResNet"
    return create(name), "reslab model, default configuration"


# ----------------------------------------------------------------------------- steps
class TrainStep:
    """The plain eager training step: zero_grad, forward, cross-entropy, backward, SGD step."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model.train()
        self.optimizer = torch.optim.SGD(
            model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4
        )

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.optimizer.zero_grad()
        loss = F.cross_entropy(self.model(x), y)
        loss.backward()
        self.optimizer.step()


class EvalStep:
    def __init__(self, model: nn.Module) -> None:
        self.model = model.eval()

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        with torch.no_grad():
            self.model(x)


# ----------------------------------------------------------------------------- data
class UInt8Images(torch.utils.data.Dataset):
    """uint8 HWC images returned as PIL images through ``transform``, as torchvision's CIFAR10."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def torchvision_loader(
    images_nchw: torch.Tensor,
    labels: torch.Tensor,
    *,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    batch_size: int,
    workers: int,
    pin_memory: bool,
) -> torch.utils.data.DataLoader:
    """The usual CIFAR input pipeline: per-sample pad-4 crop, flip, ToTensor, Normalize."""
    from torchvision import transforms as T

    size = images_nchw.shape[-1]
    transform = T.Compose(
        [
            T.RandomCrop(size, padding=size // 8),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize(mean, std),
        ]
    )
    dataset = UInt8Images(images_nchw.permute(0, 2, 3, 1).numpy(), labels.numpy(), transform)
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        pin_memory=pin_memory,
        persistent_workers=workers > 0,
    )


def endless(loader: torch.utils.data.DataLoader) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches across epoch boundaries, as a training loop sees them."""
    while True:
        yield from loader
