"""Stochastic depth (model.stochastic_depth): per block, linear in depth, identity in eval."""

from __future__ import annotations

import pytest
import torch

from reslab import models
from reslab.errors import ConfigError


@pytest.mark.parametrize("name", ["resnet20", "resnet18", "preact_resnet110"])
def test_drop_probability_is_linear_in_depth(name):
    net = models.create(name, num_classes=10)
    probs = net.set_stochastic_depth(0.2)
    blocks = net.blocks()
    assert len(probs) == len(blocks)
    n = len(blocks)
    assert probs == pytest.approx([0.2 * i / n for i in range(1, n + 1)])
    assert probs[-1] == pytest.approx(0.2)
    assert [b.drop_path.p for b in blocks] == pytest.approx(probs)
    assert all(b.drop_path.mode == "row" for b in blocks)


def test_eval_mode_is_the_identity_and_weights_are_unchanged():
    torch.manual_seed(0)
    net = models.create("resnet20", num_classes=10).eval()
    x = torch.randn(4, 3, 32, 32)
    before = net(x)
    keys = set(net.state_dict())
    net.set_stochastic_depth(0.5)
    assert set(net.state_dict()) == keys  # no new weights: checkpoints still load
    assert torch.equal(net(x), before)


def test_training_drops_whole_residual_branches_per_sample():
    """The last block with drop probability 0.5: each sample's branch is either dropped (the
    block passes its input through, ReLU'd) or kept and scaled by 1 / (1 - 0.5)."""
    torch.manual_seed(0)
    net = models.create("resnet20", num_classes=10)
    net.set_stochastic_depth(0.5)
    block = net.blocks()[-1]
    block.train()
    x = torch.randn(256, 64, 8, 8)
    torch.manual_seed(1)
    out = block(x)
    dropped = torch.isclose(out, torch.relu(x), atol=1e-6).flatten(1).all(1)
    assert 0.4 < dropped.float().mean() < 0.6
    block.drop_path = None
    kept = block(x)  # no stochastic depth: the undropped samples' outputs differ from these
    assert not torch.isclose(out[~dropped], kept[~dropped]).all()


def test_plain_nets_are_refused():
    with pytest.raises(ConfigError, match="plain net has no shortcut"):
        models.create("plain20").set_stochastic_depth(0.1)
    assert models.create("plain20").set_stochastic_depth(0.0) == [0.0] * 9


def test_zero_turns_it_off():
    net = models.create("resnet20")
    net.set_stochastic_depth(0.3)
    net.set_stochastic_depth(0.0)
    assert all(b.drop_path is None for b in net.blocks())
