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


# fp32 unit roundoff: every fp32 operation returns its exact result times (1 + d), |d| <= U32.
U32 = 2.0**-24


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("resnet20", {}),
        ("resnet18", {}),
        # At their default init with a batch of 8, the float64 gradients of ResNet-50 and
        # pre-act ResNet-110 themselves move by 0.3-1% under perturbations of fp32's size
        # (kappa ~ 5e4-1e5), so no layout can be held to anything there; their zero-init starts
        # are well conditioned (kappa ~ 4-6). The bound below refuses an ill-conditioned case.
        ("preact_resnet110", {"zero_init_residual": True}),
        ("resnet50", {"zero_init_residual": True}),
    ],
)
def test_channels_last_gradients_match_float64(name, kwargs):
    """channels_last (the fast CPU layout) changes the summation order, not what is learnt.

    The tolerance is derived, not fitted to one CPU. Both fp32 layouts must stay within
    4 * gamma_K * kappa of the float64 gradient (relative, in the 2-norm), where:
    - gamma_K = K*u / (1 - K*u) is the worst-case relative error of an fp32 sum of K terms in
      any order (Higham, Accuracy and Stability of Numerical Algorithms, sec. 4.2), with K the
      longest reduction in the net: a BN layer's statistics and weight gradients over N*H*W
      values (8*32*32 = 8192 here). BN kernels differ in how they sum these, and PyTorch's
      channels-last BN kernel on CPU gets close to that worst case at 16 channels
      (about 1.2 * K*u*kappa on ResNet-20 and plain-20, on AVX2 and AVX-512 alike);
    - kappa is how much this net, at these weights and inputs, amplifies a relative rounding
      error of u in every layer output and every gradient flowing back: measured in float64
      (so it does not depend on the CPU) by injecting exactly such perturbations, seeded;
    - 4 is the margin over the worst case seen on either CPU (~1.2).
    """
    torch.manual_seed(0)
    ref = models.create(name, num_classes=10, **kwargs)
    size = 32 if ref.spec.family == "cifar" else 64
    x, y = torch.randn(8, 3, size, size), torch.randint(0, 10, (8,))
    noise = torch.Generator().manual_seed(0)
    reductions: list[int] = []

    def perturb(module, inputs, out):
        """One rounding's worth of relative error on the output and on its gradient."""
        if isinstance(module, torch.nn.BatchNorm2d):
            reductions.append(out.numel() // out.shape[1])

        def jitter(t: torch.Tensor) -> torch.Tensor:
            return t * (1 + U32 * torch.randn(t.shape, generator=noise, dtype=t.dtype))

        out = jitter(out)
        out.register_hook(jitter)
        return out

    def grads(fmt: torch.memory_format, dtype: torch.dtype, rounding: bool = False):
        model = models.create(name, num_classes=10, **kwargs).to(dtype=dtype, memory_format=fmt)
        model.load_state_dict(ref.state_dict())
        if rounding:
            for m in model.modules():
                if isinstance(m, (torch.nn.Conv2d, torch.nn.BatchNorm2d, torch.nn.Linear)):
                    m.register_forward_hook(perturb)
        F.cross_entropy(model(x.to(dtype).contiguous(memory_format=fmt)), y).backward()
        return torch.cat([p.grad.double().flatten() for p in model.parameters()])

    exact = grads(torch.contiguous_format, torch.float64)
    kappa = float((grads(torch.contiguous_format, torch.float64, True) - exact).norm())
    kappa /= float(exact.norm()) * U32
    k = max(reductions)
    bound = 4 * (k * U32 / (1 - k * U32)) * kappa
    assert bound < 0.1, f"ill-conditioned set-up (kappa {kappa:.3g}): the check would be vacuous"
    for fmt in (torch.contiguous_format, torch.channels_last):
        err = float((grads(fmt, torch.float32) - exact).norm() / exact.norm())
        assert err < bound, (fmt, err, bound, kappa)


def test_traced_option_a_block_matches_eager():
    """Tracing exporters take the padded-copy path (they lose writes through views)."""
    model = models.create("resnet20").eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        traced = torch.jit.trace(model, x, check_trace=False)
        torch.testing.assert_close(traced(x), model(x))
