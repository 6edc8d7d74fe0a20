"""CUDA-graphed training steps: refused where they cannot work, and on a GPU the same training
as eager steps (the CUDA tests skip on machines without one)."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

import reslab
from reslab import models
from reslab.engine import load_config
from reslab.engine.config import OptimConfig
from reslab.engine.graphs import GraphedTrainStep
from reslab.engine.optim import build_optimizer, set_lr
from reslab.errors import ConfigError

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")


@pytest.mark.parametrize(
    "override, key",
    [
        ("train.precision=fp16", "train.precision"),
        ("train.max_bad_steps=2", "train.max_bad_steps"),
        ("train.device=cpu", "train.device"),
    ],
)
def test_graphs_refuse_what_cannot_be_captured(override, key):
    with pytest.raises(ConfigError, match=key):
        load_config("digits_resnet20", ["train.cuda_graphs=true", override])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a CPU-only machine")
def test_graphs_on_a_cpu_only_machine_say_so(tmp_path):
    with pytest.raises(ConfigError, match="needs a CUDA device"):
        reslab.train(
            "digits_resnet20",
            [f"out_dir={tmp_path}", "train.cuda_graphs=true", "train.iterations=2"],
        )


def _pair(name: str = "resnet20"):
    torch.manual_seed(0)
    eager = models.create(name, num_classes=10).cuda().to(memory_format=torch.channels_last)
    graphed = copy.deepcopy(eager)
    opts = [build_optimizer(m, OptimConfig(lr=0.1)) for m in (eager, graphed)]
    return eager, graphed, opts


def _batches(n: int):
    g = torch.Generator().manual_seed(1)
    return [
        (
            torch.randn(32, 3, 32, 32, generator=g)
            .cuda()
            .contiguous(memory_format=torch.channels_last),
            torch.randint(0, 10, (32,), generator=g).cuda(),
        )
        for _ in range(n)
    ]


@cuda
@pytest.mark.parametrize(
    "lrs, captures, replays",
    [
        ([0.1] * 6 + [0.01] * 6, 2, 9),  # multistep: one capture per rate
        ([0.1 / (i + 1) for i in range(12)], 0, 0),  # a moving rate: every step eager
    ],
)
def test_graphed_steps_train_as_eager_steps_do(lrs, captures, replays):
    torch.backends.cudnn.deterministic = True
    try:
        eager, graphed_model, (opt_e, opt_g) = _pair()
        step = GraphedTrainStep(graphed_model, graphed_model, opt_g, eager_steps=2)
        for (x, y), lr in zip(_batches(len(lrs)), lrs):
            set_lr(opt_e, lr)
            opt_e.zero_grad(set_to_none=True)
            F.cross_entropy(eager(x), y).backward()
            opt_e.step()
            step(x, y, lr)
    finally:
        torch.backends.cudnn.deterministic = False
    assert (step.captures, step.replays) == (captures, replays)
    for (name, a), b in zip(eager.state_dict().items(), graphed_model.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5, msg=name)


@cuda
def test_a_graphed_run_trains(tmp_path):
    run = reslab.train(
        "digits_resnet20",
        [
            f"out_dir={tmp_path}",
            "train.cuda_graphs=true",
            "train.precision=bf16",
            "train.iterations=200",
            "train.progress=false",
        ],
    )
    assert run.final["test_error"] < 10.0


def test_graphed_step_is_the_trainers_step(monkeypatch):
    """The graphed step runs engine.step's forward_loss and optimizer_step (one step in the
    code base, not a copy): its eager steps match them exactly, on any device."""
    import reslab.engine.graphs as graphs
    from reslab.engine.step import forward_loss, optimizer_step

    calls = []
    monkeypatch.setattr(
        graphs, "optimizer_step", lambda *a: calls.append(a[2]) or optimizer_step(*a)
    )
    torch.manual_seed(0)
    model = models.create("resnet20", num_classes=10)
    twin = copy.deepcopy(model)
    opt, twin_opt = (build_optimizer(m, OptimConfig(lr=0.1)) for m in (model, twin))
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    step = GraphedTrainStep(model, model, opt, scaler=scaler, eager_steps=10**9)
    g = torch.Generator().manual_seed(1)
    for lr in (0.1, 0.1, 0.05):
        x, y = torch.randn(4, 3, 32, 32, generator=g), torch.randint(0, 10, (4,), generator=g)
        loss, _ = step(x, y, lr)
        set_lr(twin_opt, lr)
        twin_loss, _ = forward_loss(twin, x, y)
        optimizer_step(twin_loss, twin_opt, scaler)
        assert torch.equal(loss, twin_loss.detach())
    assert calls == [scaler] * 3 and step.captures == 0
    for a, b in zip(model.state_dict().values(), twin.state_dict().values()):
        assert torch.equal(a, b)


def test_graphed_step_refuses_an_enabled_scaler():
    model = models.create("resnet20", num_classes=10)
    scaler = torch.amp.GradScaler("cpu", enabled=True)
    with pytest.raises(ValueError, match="GradScaler"):
        GraphedTrainStep(model, model, build_optimizer(model, OptimConfig()), scaler=scaler)
