"""Activation checkpointing changes memory, not the training step."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from reslab import models


@pytest.mark.parametrize("name", ["resnet20", "preact_resnet164"])
def test_checkpointed_step_equals_plain_step(name):
    """Same gradients and the same BN running statistics: the recomputation in backward must
    not update them a second time (it did: num_batches_tracked went up by 2 per step)."""
    plain = models.create(name)
    ckpt = models.create(name, activation_checkpointing=True)
    ckpt.load_state_dict(plain.state_dict())
    x, y = torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,))
    for model in (plain, ckpt):
        F.cross_entropy(model(x), y).backward()
    expected = plain.state_dict()
    for key, value in ckpt.state_dict().items():
        assert torch.equal(value, expected[key]), key
    for (key, a), b in zip(plain.named_parameters(), ckpt.parameters()):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-5, atol=1e-6, msg=key)
