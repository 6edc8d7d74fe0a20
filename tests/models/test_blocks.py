"""The in-place shortcut additions compute exactly what the out-of-place ones did."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from reslab import models
from reslab.models.blocks import PadShortcut


@pytest.mark.parametrize("channels_last", [False, True])
def test_pad_shortcut_add_matches_padded_copy(channels_last):
    shortcut = PadShortcut(16, 32, stride=2)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(4, 16, 8, 8).contiguous(memory_format=fmt).requires_grad_()
    base = torch.randn(4, 32, 4, 4).contiguous(memory_format=fmt).requires_grad_()
    expected = base * 1.0 + shortcut(x)
    got = shortcut.add_to_(base * 1.0, x)
    assert torch.equal(got, expected)
    grad = torch.randn_like(expected)
    gx_expected, gb_expected = torch.autograd.grad(expected, (x, base), grad)
    gx, gb = torch.autograd.grad(got, (x, base), grad)
    assert torch.equal(gx, gx_expected) and torch.equal(gb, gb_expected)


@pytest.mark.parametrize("name", ["resnet20", "preact_resnet110", "resnet18", "resnet50"])
def test_channels_last_gradients_match_float64(name):
    """channels_last (the fast CPU layout) changes the summation order, not what is learnt.

    The whole gradient stays within 0.5% of a float64 NCHW computation, or about as close as
    NCHW fp32's where that is further off (deep nets with BN at a small batch amplify rounding:
    ~2% for both on ResNet-50 here). It is not bit-identical to NCHW: PyTorch's channels-last
    BatchNorm CPU kernel sums in a different order (ResNet-20: 2e-3 vs 1e-6 for NCHW)."""
    torch.manual_seed(0)
    ref = models.create(name, num_classes=10)
    size = 32 if ref.spec.family == "cifar" else 64
    x, y = torch.randn(8, 3, size, size), torch.randint(0, 10, (8,))

    def grads(fmt: torch.memory_format, dtype: torch.dtype) -> torch.Tensor:
        model = models.create(name, num_classes=10).to(dtype=dtype, memory_format=fmt)
        model.load_state_dict(ref.state_dict())
        F.cross_entropy(model(x.to(dtype).contiguous(memory_format=fmt)), y).backward()
        return torch.cat([p.grad.double().flatten() for p in model.parameters()])

    exact = grads(torch.contiguous_format, torch.float64)
    err_nchw, err_cl = (
        float((grads(fmt, torch.float32) - exact).norm() / exact.norm())
        for fmt in (torch.contiguous_format, torch.channels_last)
    )
    assert err_cl < max(3 * err_nchw, 5e-3), (err_cl, err_nchw)


def test_traced_option_a_block_matches_eager():
    """Tracing exporters take the padded-copy path (they lose writes through views)."""
    model = models.create("resnet20").eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        traced = torch.jit.trace(model, x, check_trace=False)
        torch.testing.assert_close(traced(x), model(x))
