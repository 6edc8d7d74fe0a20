"""The paper's and torchvision's published numbers: the one cited table reslab is measured against.

Tests, studies and reports import these; keep the names stable. Errors are in percent.

Names:
    CifarTable6Row, CIFAR10_TABLE6          He et al. 2015, Table 6 (+ a PyTorch reproduction)
    RESNET110_MEAN_STD_5RUNS                He et al. 2015, Table 6, ResNet-110 over 5 runs
    PREACT_CIFAR10, PREACT_RESNET1001_BATCH64_ERROR   He et al. 2016 (pre-activation)
    IMAGENET_BLOCKS, IMAGENET_FLOPS         He et al. 2015, Table 1
    IMAGENET_TOP1_10CROP, IMAGENET_TOP5_10CROP        He et al. 2015, Tables 2 and 3
    TorchvisionResNet, TORCHVISION_RESNETS  torchvision model docs (params, acc@1, GFLOPs)
    FLOPS_PER_MAC, RESNET20_CIFAR_FLOPS, RESNET50_IMAGENET_FLOPS   FlopCounterMode convention
    DEGRADATION_CLAIM, FIGURE7_CLAIM        the paper's claims, in words
    PAPER_CITATION, PREACT_CITATION
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

PAPER_CITATION: Final = (
    "K. He, X. Zhang, S. Ren, J. Sun, Deep Residual Learning for Image Recognition, "
    "arXiv:1512.03385 (2015)"
)
PREACT_CITATION: Final = (
    "K. He, X. Zhang, S. Ren, J. Sun, Identity Mappings in Deep Residual Networks, "
    "arXiv:1603.05027 (2016)"
)


@dataclass(frozen=True)
class CifarTable6Row:
    """One CIFAR-10 row: the paper's parameter count and test error, and a reproduction's."""

    params: float
    """Parameters as the paper rounds them (0.27M -> 270_000.0)."""
    params_label: str
    """The count exactly as printed in the paper, e.g. "0.27M"."""
    paper_error: float
    """Test error %, He et al. 2015, Table 6 (best of runs)."""
    reproduction_error: float
    """Test error %, akamaster/pytorch_resnet_cifar10 (200 epochs, no val split: best-test)."""


# Source: He et al. 2015, section 4.2, Table 6 (CIFAR-10 test error %); reproduction column from
# akamaster/pytorch_resnet_cifar10's README.
CIFAR10_TABLE6: Final[dict[str, CifarTable6Row]] = {
    "resnet20": CifarTable6Row(0.27e6, "0.27M", 8.75, 8.27),
    "resnet32": CifarTable6Row(0.46e6, "0.46M", 7.51, 7.37),
    "resnet44": CifarTable6Row(0.66e6, "0.66M", 7.17, 6.90),
    "resnet56": CifarTable6Row(0.85e6, "0.85M", 6.97, 6.61),
    "resnet110": CifarTable6Row(1.7e6, "1.7M", 6.43, 6.32),
    "resnet1202": CifarTable6Row(19.4e6, "19.4M", 7.93, 6.18),
}

# Source: He et al. 2015, Table 6: ResNet-110 "6.61 +- 0.16" (mean +- std of 5 runs).
RESNET110_MEAN_STD_5RUNS: Final[tuple[float, float]] = (6.61, 0.16)

# Source: He et al. 2016 (arXiv 1603.05027), CIFAR-10 test error %, batch 128.
PREACT_CIFAR10: Final[dict[str, float]] = {
    "preact_resnet110": 6.37,
    "preact_resnet164": 5.46,  # bottleneck blocks
    "preact_resnet1001": 4.92,
}
# Source: He et al. 2016: pre-act ResNet-1001 trained with mini-batch 64.
PREACT_RESNET1001_BATCH64_ERROR: Final = 4.62

BlockKind = Literal["basic", "bottleneck"]

# Source: He et al. 2015, Table 1: block type and blocks per stage (conv2_x..conv5_x).
IMAGENET_BLOCKS: Final[dict[str, tuple[BlockKind, tuple[int, int, int, int]]]] = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
    "resnet101": ("bottleneck", (3, 4, 23, 3)),
    "resnet152": ("bottleneck", (3, 8, 36, 3)),
}

# Source: He et al. 2015, Table 1, "FLOPs" row (multiply-adds at 224x224).
IMAGENET_FLOPS: Final[dict[str, float]] = {
    "resnet18": 1.8e9,
    "resnet34": 3.6e9,
    "resnet50": 3.8e9,
    "resnet101": 7.6e9,
    "resnet152": 11.3e9,
}

# Source: He et al. 2015, Table 2 (plain vs ResNet, option A) and Table 3 (options A/B/C and
# bottleneck nets); ImageNet val top-1 error %, 10-crop testing.
IMAGENET_TOP1_10CROP: Final[dict[str, float]] = {
    "plain18": 27.94,
    "plain34": 28.54,
    "resnet18": 27.88,
    "resnet34": 25.03,  # option A, as in Table 2
    "resnet34_A": 25.03,
    "resnet34_B": 24.52,
    "resnet34_C": 24.19,
    "resnet50": 22.85,
    "resnet101": 21.75,
    "resnet152": 21.43,
}

# Source: He et al. 2015, Table 3; ImageNet val top-5 error %, 10-crop testing.
IMAGENET_TOP5_10CROP: Final[dict[str, float]] = {
    "resnet34_A": 7.76,
    "resnet34_B": 7.46,
    "resnet34_C": 7.40,
    "resnet50": 6.71,
    "resnet101": 6.05,
    "resnet152": 5.71,
}


@dataclass(frozen=True)
class TorchvisionResNet:
    """torchvision's reference ResNet: exact size, ImageNet accuracy and cost."""

    params: int
    """Exact parameter count at 1000 classes."""
    acc1_v1: float
    """ImageNet top-1 accuracy % of the IMAGENET1K_V1 weights."""
    acc1_v2: float | None
    """ImageNet top-1 accuracy % of the IMAGENET1K_V2 weights (None where there are none)."""
    gflops: float
    """Giga multiply-adds at 224x224, as torchvision's docs state them."""


# Source: torchvision model documentation (resnet18..resnet152 weight tables).
TORCHVISION_RESNETS: Final[dict[str, TorchvisionResNet]] = {
    "resnet18": TorchvisionResNet(11_689_512, 69.758, None, 1.814),
    "resnet34": TorchvisionResNet(21_797_672, 73.314, None, 3.664),
    "resnet50": TorchvisionResNet(25_557_032, 76.130, 80.858, 4.089),
    "resnet101": TorchvisionResNet(44_549_160, 77.374, 81.886, 7.801),
    "resnet152": TorchvisionResNet(60_192_808, 78.312, 82.284, 11.514),
}

# Source: torch.utils.flop_counter.FlopCounterMode counts 2 FLOPs per multiply-add; measured
# values for reference models under that convention.
FLOPS_PER_MAC: Final = 2
RESNET50_IMAGENET_FLOPS: Final = 8.18e9
RESNET20_CIFAR_FLOPS: Final = 8.1e7

# Source: He et al. 2015, section 4.2 and Figure 6.
DEGRADATION_CLAIM: Final = (
    "Deeper plain nets have higher training and test error than shallower ones (plain-56 is "
    "worse than plain-20, plain-110 stays above 60% error): the degradation problem. With "
    "identity shortcuts the deeper ResNets reach lower error (He et al. 2015, Fig. 6)."
)

# Source: He et al. 2015, section 4.2 and Figure 7.
FIGURE7_CLAIM: Final = (
    "Residual functions generally have smaller responses than plain ones, and deeper ResNets "
    "have smaller responses (paper Fig. 7)."
)
