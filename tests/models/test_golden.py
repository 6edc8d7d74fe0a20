"""Every kind of net computes the function the papers describe: reslab's logits against a
reference forward written here, from the papers' text, in plain torch.nn.functional calls, on
the same weights (its state dict, whose names are torchvision's).

The reference is independent of reslab's modules: it re-derives the stem, each block's order of
conv, BN, ReLU and addition, the shortcut options and where a bottleneck strides. Weights, BN
running statistics and the input are random (seeded) and everything runs in float64, so two
correct implementations agree to rounding (1e-9 of the logits' scale) and any difference in
what is computed (a layer moved, a BN or ReLU dropped, a shortcut padded on the wrong
channels) is many orders of magnitude larger. num_classes=7, so a hard-coded head shows up.

Sources: He et al. 2015 (arXiv 1512.03385), section 3.3 and 4.2, Table 1; He et al. 2016
(arXiv 1603.05027), Fig. 4(e) and the authors' code (KaimingHe/resnet-1k-layers) for where a
pre-activation net's first BN-ReLU and its projection shortcuts sit.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from reslab import models

CASES = {
    # name: (model, options)
    "resnet20": ("resnet20", {}),
    "resnet20_B": ("resnet20", {"shortcut": "B"}),
    "resnet20_C": ("resnet20", {"shortcut": "C"}),
    "plain20": ("plain20", {}),
    "preact_resnet110": ("preact_resnet110", {}),
    "preact_resnet164": ("preact_resnet164", {}),
    "resnet18": ("resnet18", {}),
    "resnet50": ("resnet50", {}),
    "resnet50_v1": ("resnet50", {"stride_on": "1x1"}),
    "preact_resnet18": ("preact_resnet18", {}),
}


def _bn(x: torch.Tensor, w: dict[str, torch.Tensor], name: str) -> torch.Tensor:
    """Eval-mode batch norm: (x - mean) / sqrt(var + 1e-5) * gamma + beta, per channel."""
    shape = (1, -1, 1, 1)
    mean, var = w[f"{name}.running_mean"].view(shape), w[f"{name}.running_var"].view(shape)
    scale, shift = w[f"{name}.weight"].view(shape), w[f"{name}.bias"].view(shape)
    return (x - mean) / torch.sqrt(var + 1e-5) * scale + shift


def _conv(x: torch.Tensor, weight: torch.Tensor, stride: int = 1) -> torch.Tensor:
    return F.conv2d(x, weight, stride=stride, padding=weight.shape[-1] // 2)


def _shortcut(x, pre, w, name, c_in, c_out, stride, option, preact):
    """Option A: subsample and zero-pad new channels, the identity in the middle channels (the
    layout of the published CIFAR weights); B: a 1x1 projection (with BN after it in post-
    activation nets, on the pre-activated input in pre-activation ones) where the shape
    changes; C: a projection everywhere; none: no shortcut."""
    changes = c_in != c_out or stride != 1
    if option == "none":
        return None
    if option == "C" or (option == "B" and changes):
        out = F.conv2d(pre if preact else x, w[f"{name}.downsample.0.weight"], stride=stride)
        return out if preact else _bn(out, w, f"{name}.downsample.1")
    if not changes:
        return x
    sub = x[:, :, ::stride, ::stride]
    front = (c_out - c_in) // 2
    return F.pad(sub, (0, 0, 0, 0, front, c_out - c_in - front))


def _block(x, w, name, spec, c_in, width, stride, first):
    """One block: basic (two 3x3) or bottleneck (1x1, 3x3, 1x1 with 4x expansion; v1 strides
    on the first 1x1, v1.5 on the 3x3). Post-activation: conv-BN-ReLU ..., BN, add, ReLU.
    Pre-activation: BN-ReLU-conv ..., add, with the first block's BN-ReLU being the stem's."""
    bottleneck = spec.block == "bottleneck"
    c_out = width * (4 if bottleneck else 1)
    convs = ["conv1", "conv2", "conv3"] if bottleneck else ["conv1", "conv2"]
    if bottleneck:
        strides = [stride, 1, 1] if spec.stride_on == "1x1" else [1, stride, 1]
    else:
        strides = [stride, 1]
    if spec.preact:
        pre = x if first else F.relu(_bn(x, w, f"{name}.bn1"))
        out = pre
        for i, (conv, s) in enumerate(zip(convs, strides)):
            if i > 0:
                out = F.relu(_bn(out, w, f"{name}.bn{i + 1}"))
            out = _conv(out, w[f"{name}.{conv}.weight"], s)
        short = _shortcut(x, pre, w, name, c_in, c_out, stride, spec.shortcut, True)
        return out + short if short is not None else out
    out = x
    for i, (conv, s) in enumerate(zip(convs, strides)):
        out = _bn(_conv(out, w[f"{name}.{conv}.weight"], s), w, f"{name}.bn{i + 1}")
        if i < len(convs) - 1:
            out = F.relu(out)
    short = _shortcut(x, x, w, name, c_in, c_out, stride, spec.shortcut, False)
    return F.relu(out + short if short is not None else out)


def reference_forward(spec: models.ResNetSpec, w: dict[str, torch.Tensor], x: torch.Tensor):
    """The papers' net: a 3x3 stem (CIFAR) or 7x7/2 stem and 3x3/2 max-pool (ImageNet), each
    followed by BN-ReLU; stages at stride 1, 2, 2(, 2); global average pooling; a linear
    classifier. A pre-activation net ends in BN-ReLU before pooling."""
    imagenet = spec.family == "imagenet"
    out = F.conv2d(x, w["conv1.weight"], stride=2 if imagenet else 1, padding=3 if imagenet else 1)
    out = F.relu(_bn(out, w, "bn1"))
    if imagenet:
        out = F.max_pool2d(out, 3, stride=2, padding=1)
    c_in = spec.stem_width or spec.widths[0]
    for i, (blocks, width) in enumerate(zip(spec.layers, spec.widths), start=1):
        for b in range(blocks):
            stride = 2 if i > 1 and b == 0 else 1
            first = i == 1 and b == 0
            out = _block(out, w, f"layer{i}.{b}", spec, c_in, width, stride, first)
            c_in = width * (4 if spec.block == "bottleneck" else 1)
    if spec.preact:
        out = F.relu(_bn(out, w, "final_bn"))
    return F.linear(out.mean(dim=(2, 3)), w["fc.weight"], w["fc.bias"])


def _randomised(case: str) -> tuple[models.ResNet, torch.Tensor]:
    """The net with seeded random weights and BN statistics (so that every BN matters: means
    around 0, variances 0.5 to 1.5, scales 0.5 to 1.5), in float64, and a seeded input."""
    name, options = CASES[case]
    net = models.create(name, num_classes=7, **options).double().eval()
    g = torch.Generator().manual_seed(sum(map(ord, case)))
    with torch.no_grad():
        for key, value in net.state_dict().items():
            if key.endswith("num_batches_tracked"):
                continue
            if key.endswith("running_var") or (key.endswith(".weight") and value.dim() == 1):
                value.copy_(0.5 + torch.rand(value.shape, generator=g, dtype=torch.float64))
            elif key.endswith((".bias", "running_mean")):
                value.copy_(0.1 * torch.randn(value.shape, generator=g, dtype=torch.float64))
            else:  # conv and linear weights: He-like scale keeps the signal alive in depth
                fan_in = value[0].numel()
                value.copy_(
                    torch.randn(value.shape, generator=g, dtype=torch.float64) / fan_in**0.5
                )
    size = 32 if net.spec.family == "cifar" else 64
    x = torch.randn(2, 3, size, size, generator=g, dtype=torch.float64)
    return net, x


@pytest.mark.parametrize("case", list(CASES))
def test_logits_are_the_papers_function(case):
    net, x = _randomised(case)
    weights = {k: v for k, v in net.state_dict().items()}
    with torch.no_grad():
        got = net(x)
        expected = reference_forward(net.spec, weights, x)
    assert got.shape == (2, 7)
    scale = float(expected.abs().max())
    assert scale > 1e-3  # a live signal reaches the classifier (not only the fc bias)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-9 * scale)


def test_the_reference_tells_the_variants_apart():
    """The cases differ where the papers say they do: on the same weights, the reference's
    option A and B, v1 and v1.5, plain and residual give different logits (so agreement above
    is not agreement on a function that ignores what the case changes)."""
    pairs = [("resnet20", "plain20"), ("resnet50", "resnet50_v1")]
    for a, b in pairs:
        net, x = _randomised(a)
        weights = dict(net.state_dict())
        other = models.create(CASES[b][0], num_classes=7, **CASES[b][1]).spec
        with torch.no_grad():
            same = reference_forward(net.spec, weights, x)
            changed = reference_forward(other, weights, x)
        assert (same - changed).abs().max() > 1e-3 * same.abs().max(), (a, b)
