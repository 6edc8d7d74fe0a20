"""freeze_stages freezes weights and BatchNorm statistics; state dicts keep their keys."""

import pytest
import torch
import torch.nn.functional as F

from reslab import models
from reslab.errors import ConfigError


def _bn_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items() if "running" in k}


@pytest.mark.parametrize("name", ["resnet20", "preact_resnet110", "resnet50"])
def test_frozen_stages_keep_weights_and_running_stats_through_a_training_step(name):
    torch.manual_seed(0)
    model = models.freeze_stages(models.create(name, num_classes=5), 1).train()
    frozen_before = {**_bn_state(model.bn1), **_bn_state(model.layer1)}
    frozen_weights = {k: v.clone() for k, v in model.layer1.state_dict().items()}
    trained_before = _bn_state(model.layer2)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    size = 32 if model.spec.family == "cifar" else 64
    x, y = torch.randn(4, 3, size, size) * 3 + 1, torch.randint(0, 5, (4,))
    F.cross_entropy(model(x), y).backward()
    opt.step()
    assert {**_bn_state(model.bn1), **_bn_state(model.layer1)}.keys() == frozen_before.keys()
    for key, value in {**_bn_state(model.bn1), **_bn_state(model.layer1)}.items():
        assert torch.equal(value, frozen_before[key]), key
    for key, value in model.layer1.state_dict().items():
        assert torch.equal(value, frozen_weights[key]), key
    # the stages after the frozen ones still learn their statistics
    assert any(not torch.equal(v, trained_before[k]) for k, v in _bn_state(model.layer2).items())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.layer1.modules())
    assert all(p.grad is None for p in model.conv1.parameters())


def test_frozen_bn_in_train_mode_computes_what_eval_bn_does():
    torch.manual_seed(0)
    model = models.create("resnet20").eval()
    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=gen) * 0.2)
            m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=gen))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model.layer1(model.relu(model.bn1(model.conv1(x))))
        models.freeze_stages(model, 1).train()
        got = model.layer1(model.relu(model.bn1(model.conv1(x))))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_frozen_state_dict_has_the_same_keys_and_loads_both_ways(tmp_path):
    torch.manual_seed(0)
    plain = models.create("resnet20").eval()
    frozen = models.freeze_stages(models.create("resnet20"), 2).eval()
    assert list(frozen.state_dict()) == list(plain.state_dict())
    frozen.load_state_dict(plain.state_dict())  # strict: every key fits
    path = models.save_weights(frozen, tmp_path / "frozen.safetensors")
    fresh = models.create("resnet20").eval()
    report = models.load_weights(fresh, path)
    assert report.notes == []
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(fresh(x), plain(x))


def test_freeze_stages_out_of_range_is_a_config_error():
    with pytest.raises(ConfigError, match="between 0 and 3"):
        models.freeze_stages(models.create("resnet20"), 4)


def _frozen(model: torch.nn.Module) -> list[str]:
    return sorted(name for name, p in model.named_parameters() if not p.requires_grad)


def test_zero_stages_freeze_nothing():
    model = models.freeze_stages(models.create("resnet20"), 0)
    assert _frozen(model) == []
    assert not any(isinstance(m, models.FrozenBatchNorm2d) for m in model.modules())


@pytest.mark.parametrize("n", [0, 1, 3])
def test_the_function_and_model_freeze_stages_freeze_the_same(n):
    from types import SimpleNamespace

    from reslab.engine import load_config
    from reslab.engine.setup import build_model

    cfg = load_config("cifar10_resnet20", [f"model.freeze_stages={n}"])
    built = build_model(cfg, SimpleNamespace(num_classes=10, in_channels=3))
    direct = models.freeze_stages(models.create("resnet20"), n)
    assert _frozen(built) == _frozen(direct)
    assert ("conv1.weight" in _frozen(direct)) == (n > 0)  # the stem goes with the first stage
