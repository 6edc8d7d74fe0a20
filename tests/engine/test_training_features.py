"""Training features beyond the papers: gradient accumulation and clipping, linear lr scaling,
the warm-up's start, best-on-validation checkpoints, flip TTA, evaluation at another
resolution, and a tiny end-to-end run of cifar10_resnet56_modern that resumes exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from torch import nn

from reslab import models
from reslab.engine import load_config, train
from reslab.engine import trainer as trainer_module
from reslab.engine.checkpoint import CheckpointManager, load_checkpoint
from reslab.engine.config import OptimConfig, ScheduleConfig
from reslab.engine.distributed import DistInfo
from reslab.engine.evaluate import run_eval
from reslab.engine.optim import peak_lr
from reslab.engine.schedule import lr_at
from reslab.engine.setup import build_data
from reslab.engine.step import apply_gradients, backward, forward_loss, optimizer_step
from reslab.engine.trainer import best_on_val
from reslab.errors import ConfigError
from reslab.models.weights import read_metadata
from tests.data.builders import write_cifar

EPS = torch.finfo(torch.float32).eps
FAST = ["train.progress=false", "train.tensorboard=false", "train.deterministic=true"]


# ----------------------------------------------------------------------------- accumulation
def _accumulated_grads(model: nn.Module, x, y, k: int) -> list[torch.Tensor]:
    """The trainer's step, without the update: zero, then forward_loss + backward per part."""
    model.zero_grad(set_to_none=True)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    for xs, ys in zip(x.chunk(k), y.chunk(k)):
        loss, _ = forward_loss(model, xs, ys)
        backward(loss, scaler, micro_batches=k)
    return [p.grad.clone() for p in model.parameters()]


def _per_sample_bound(model: nn.Module, x, y) -> float:
    """B * eps * (largest per-sample gradient entry): the rounding bound of a B-term sum, the
    only way the accumulated and the whole-batch gradients may differ."""
    largest = 0.0
    for i in range(len(x)):
        model.zero_grad(set_to_none=True)
        forward_loss(model, x[i : i + 1], y[i : i + 1])[0].backward()
        largest = max(largest, max(p.grad.abs().max().item() for p in model.parameters()))
    return len(x) * EPS * largest


@pytest.mark.parametrize("k", [2, 4, 8])
def test_accumulated_gradient_equals_the_whole_batch_gradient_linear(k):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(48, 10))
    x, y = torch.randn(32, 3, 4, 4), torch.randint(0, 10, (32,))
    whole = _accumulated_grads(model, x, y, 1)
    parts = _accumulated_grads(model, x, y, k)
    tol = _per_sample_bound(model, x, y)
    assert tol < 1e-4  # tight: a wrong scaling (e.g. no 1/k) would be off by O(1)
    for a, b in zip(whole, parts):
        assert (a - b).abs().max().item() <= tol
    wrong = [g * k for g in parts]  # what summing micro-batch means would give
    assert max((a - w).abs().max().item() for a, w in zip(whole, wrong)) > 100 * tol


def test_accumulated_gradient_equals_the_whole_batch_gradient_resnet_with_eval_bn():
    """BatchNorm in eval mode (its running statistics), so the micro-batches' normalisation
    is the whole batch's and the gradients must agree up to rounding."""
    torch.manual_seed(0)
    model = models.create("resnet20", num_classes=10).eval()
    x, y = torch.randn(8, 3, 16, 16), torch.randint(0, 10, (8,))
    whole = _accumulated_grads(model, x, y, 1)
    parts = _accumulated_grads(model, x, y, 4)
    tol = _per_sample_bound(model, x, y)
    for a, b in zip(whole, parts):
        assert (a - b).abs().max().item() <= tol


# ----------------------------------------------------------------------------- clipping
@pytest.mark.parametrize("fp16_scaler", [False, True])
def test_clipping_bounds_the_norm_of_the_true_gradient(fp16_scaler):
    torch.manual_seed(0)
    model = nn.Linear(20, 5)
    opt = torch.optim.SGD(model.parameters(), lr=1.0, momentum=0.0, foreach=False)
    scaler = torch.amp.GradScaler("cpu", enabled=fp16_scaler, init_scale=2.0**10)
    x = torch.randn(16, 20) * 100
    loss = model(x).pow(2).mean()
    grads = torch.autograd.grad(loss, list(model.parameters()), retain_graph=True)
    norm = torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])).item()
    assert norm > 10  # big, so clipping to 1 acts
    before = [p.detach().clone() for p in model.parameters()]
    optimizer_step(loss, opt, scaler, clip_grad_norm=1.0)
    steps = [b - p.detach() for b, p in zip(before, model.parameters())]  # lr 1: the gradient
    step_norm = torch.linalg.vector_norm(torch.stack([s.norm() for s in steps])).item()
    assert step_norm == pytest.approx(1.0, rel=1e-4)  # unscaled first: 1, not 1 / 2**10
    for s, g in zip(steps, grads):  # the direction is kept
        assert torch.allclose(s, g / norm, rtol=1e-4, atol=1e-7)


def test_clipping_leaves_a_small_gradient_alone():
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=1.0, foreach=False)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    model.zero_grad()
    loss = model(torch.randn(3, 4) * 1e-3).sum() * 1e-3
    loss.backward(retain_graph=True)
    grads = [p.grad.clone() for p in model.parameters()]
    before = [p.detach().clone() for p in model.parameters()]
    opt.zero_grad()
    backward(loss, scaler)
    apply_gradients(opt, scaler, clip_grad_norm=100.0)
    for b, p, g in zip(before, model.parameters(), grads):
        assert torch.allclose(b - p.detach(), g)


# ----------------------------------------------------------------------------- the rate
def test_linear_lr_scaling_with_the_global_batch():
    assert peak_lr(OptimConfig(lr=0.1), 1024) == 0.1  # off: lr as given
    assert peak_lr(OptimConfig(lr=0.1, scale_lr_with_batch=256), 1024) == pytest.approx(0.4)
    assert peak_lr(OptimConfig(lr=0.5, scale_lr_with_batch=1024), 128) == pytest.approx(0.0625)
    with pytest.raises(ConfigError, match="optim.scale_lr_with_batch"):
        OptimConfig(scale_lr_with_batch=0)


def test_the_warm_up_starts_at_warmup_start():
    cfg = ScheduleConfig(name="cosine", warmup_iters=10, warmup_start=0.01)
    rates = [lr_at(s, 100, 0.5, cfg) for s in range(12)]
    assert rates[0] == pytest.approx(0.5 * (0.01 + 0.99 / 10))
    assert rates[9] == pytest.approx(0.5)  # the peak at the warm-up's end
    assert all(a < b for a, b in zip(rates[:9], rates[1:10]))  # rising linearly
    assert rates[1] - rates[0] == pytest.approx(0.5 * 0.99 / 10)
    legacy = ScheduleConfig(name="cosine", warmup_iters=10)  # 0: the rate from 0, as before
    assert lr_at(0, 100, 0.5, legacy) == pytest.approx(0.05)


# ----------------------------------------------------------------------------- best on val
def test_best_is_chosen_on_validation_where_val_and_test_disagree():
    history = [
        {"step": 2, "val_error": 30.0, "test_error": 10.0},  # the best test error ...
        {"step": 4, "val_error": 20.0, "test_error": 40.0},  # ... but this has the best val
        {"step": 6, "val_error": 25.0, "test_error": 5.0},
        {"step": 8, "val_error": 20.0, "test_error": 1.0},  # a tie: the earlier one stays
    ]
    assert best_on_val(history)["step"] == 4
    assert best_on_val([{"step": 2, "test_error": 3.0}]) is None  # no val split, no choice


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    write_cifar(root, "cifar10", archive=True, per_class_train=4)  # 200 train, 10 test
    return root


def test_the_run_keeps_the_best_val_weights_and_summary_names_them(
    cifar_root, tmp_path, monkeypatch
):
    script = iter([(30.0, 10.0), (20.0, 40.0), (25.0, 5.0)])  # (val, test) at steps 2, 4, 6

    def scripted(model, data, cfg, device, info, dtype):
        val, test = next(script)
        return {"val_error": val, "test_error": test}

    monkeypatch.setattr(trainer_module, "_evaluate", scripted)
    run = train(
        "cifar10_resnet20",
        [f"data.root={cifar_root}", "data.val_size=20", "data.batch_size=8",
         "train.iterations=6", "train.eval_every=2", f"out_dir={tmp_path}", "name=b", *FAST],
    )  # fmt: skip
    summary = json.loads((run.dir / "summary.json").read_text())
    assert "best_test_error" not in summary  # chosen on test, it flattered
    assert summary["best_val_error"] == 20.0 and summary["best_val_step"] == 4
    assert summary["test_error_at_best_val"] == 40.0  # not the 5.0 of another step
    assert read_metadata(run.dir / "best.safetensors")["step"] == 4
    assert load_file(run.dir / "best.safetensors").keys() == load_file(run.weights).keys()
    # the public evaluate() takes flip TTA for an in-memory dataset; sizes only for folders
    from reslab.engine.evaluate import evaluate

    assert evaluate(run.dir, tta="flip").count == 10
    assert evaluate(run.dir / "best.safetensors", tta="flip", root=str(cifar_root)).count == 10
    with pytest.raises(ConfigError, match="image_size and resize are for image folders"):
        evaluate(run.dir, image_size=40)


def _scripted_val_errors(monkeypatch, errors, seen=None):
    """Each evaluation scores the next of ``errors`` (a validation error, %); ``seen`` gets
    the weights it was handed."""
    script = iter(errors)

    def scripted(model, data, cfg, device, info, dtype):
        if seen is not None:
            seen.append({k: v.clone() for k, v in models.unwrap(model).state_dict().items()})
        return {"val_error": next(script), "test_error": 50.0}

    monkeypatch.setattr(trainer_module, "_evaluate", scripted)


def _short(cifar_root, tmp_path, *extra):
    return [f"data.root={cifar_root}", "data.val_size=20", "data.batch_size=8",
            "train.eval_every=2", "train.checkpoint_every=2", f"out_dir={tmp_path}", "name=b",
            *FAST, *extra]  # fmt: skip


def test_an_ema_run_evaluates_keeps_and_ships_the_ema(cifar_root, tmp_path, monkeypatch):
    """The history, best.safetensors and final.safetensors all describe the EMA weights."""
    seen = []
    _scripted_val_errors(monkeypatch, [30.0, 20.0], seen)  # the best is the last, step 4
    run = train(
        "cifar10_resnet20",
        _short(cifar_root, tmp_path, "train.iterations=4", "optim.ema_decay=0.5"),
    )
    final, best = load_file(run.weights), load_file(run.dir / "best.safetensors")
    ckpt, _ = CheckpointManager(run.dir / "checkpoints").load_latest()
    assert read_metadata(run.dir / "best.safetensors")["step"] == 4
    assert any(not torch.equal(ckpt["model"][k], final[k]) for k in final)  # EMA != raw
    for k in final:
        assert torch.equal(ckpt["ema"][k], final[k]), k
        assert torch.equal(seen[-1][k], final[k]), k  # what step 4's evaluation scored
        assert torch.equal(best[k], final[k]), k


def test_an_ema_run_resumes_exactly(cifar_root, tmp_path, monkeypatch):
    """The EMA is saved and restored with the rest: stopped after step 1 and resumed, an EMA
    run ships the weights of an uninterrupted one."""
    args = _short(cifar_root, tmp_path, "train.iterations=4", "optim.ema_decay=0.5")
    whole = train("cifar10_resnet20", [*args, "name=whole"])
    monkeypatch.setattr(trainer_module._StopSignal, "requested", property(lambda self: True))
    assert train("cifar10_resnet20", [*args, "name=x"]).step == 1
    monkeypatch.undo()
    resumed = train("cifar10_resnet20", [*args, "name=x"], resume="auto")
    expected, got = load_file(whole.weights), load_file(resumed.weights)
    assert [k for k in expected if not torch.equal(expected[k], got[k])] == []


def test_a_rewind_rebuilds_best_from_the_kept_checkpoint(cifar_root, tmp_path, monkeypatch):
    """best.safetensors from a step that a resume abandons is replaced by the best as of
    the resumed step, and names that step."""
    # first pass: evaluations at steps 2, 4, 6, best at 6; then a rewind to step 4, where the
    # best was step 4, and a worse step 6
    _scripted_val_errors(monkeypatch, [30.0, 20.0, 10.0, 25.0])
    args = _short(cifar_root, tmp_path, "train.iterations=6", "train.keep_checkpoints=5")
    first = train("cifar10_resnet20", args)
    assert read_metadata(first.dir / "best.safetensors")["step"] == 6
    at_4 = first.dir / "checkpoints" / "step_00000004.pt"
    expected = load_checkpoint(at_4)["model"]
    again = train("cifar10_resnet20", args, resume=str(at_4))
    summary = json.loads((again.dir / "summary.json").read_text())
    assert [h["step"] for h in again.history] == [2, 4, 6] and summary["best_val_step"] == 4
    meta = read_metadata(again.dir / "best.safetensors")
    assert (meta["step"], meta["val_error"]) == (4, 20.0)
    best = load_file(again.dir / "best.safetensors")
    assert all(torch.equal(best[k], expected[k]) for k in expected)
    assert summary["best_weights"] == "best.safetensors"


def test_a_rewind_past_the_kept_checkpoints_removes_best(cifar_root, tmp_path, monkeypatch):
    # best at step 2, then at 6; a rewind to 4 with only steps 4 and 6 kept cannot rebuild 2
    _scripted_val_errors(monkeypatch, [20.0, 30.0, 10.0, 25.0])
    args = _short(cifar_root, tmp_path, "train.iterations=6", "train.keep_checkpoints=2")
    first = train("cifar10_resnet20", args)
    at_4 = first.dir / "checkpoints" / "step_00000004.pt"
    with pytest.warns(UserWarning, match="removed best.safetensors.*best step before it \\(2\\)"):
        again = train("cifar10_resnet20", args, resume=str(at_4))
    summary = json.loads((again.dir / "summary.json").read_text())
    assert summary["best_val_step"] == 2 and summary["best_weights"] is None
    assert not (again.dir / "best.safetensors").exists()


# ----------------------------------------------------------------------------- evaluation
class _Asymmetric(nn.Module):
    """Logits that depend on left/right: a mirrored image scores differently."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(3 * 4 * 4, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1)) * 3


def test_flip_tta_averages_the_softmax_of_the_image_and_its_mirror():
    model = _Asymmetric()
    x, y = torch.randn(40, 3, 4, 4), torch.randint(0, 5, (40,))
    plain = run_eval(model, [(x, y)], 5, device=torch.device("cpu"))
    tta = run_eval(model, [(x, y)], 5, device=torch.device("cpu"), tta="flip")
    with torch.no_grad():
        probs = (model(x).softmax(1) + model(x.flip(-1)).softmax(1)) / 2
    expected_loss = torch.nn.functional.nll_loss(probs.log(), y).item()
    expected_error = 100.0 * (probs.argmax(1) != y).float().mean().item()
    assert tta.loss == pytest.approx(expected_loss, rel=1e-5)
    assert tta.top1_error == pytest.approx(expected_error)
    assert tta.loss != pytest.approx(plain.loss, rel=1e-3)  # the mirror did count


def test_flip_tta_changes_nothing_for_a_mirror_symmetric_model():
    model = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 5))
    x, y = torch.randn(20, 3, 4, 4), torch.randint(0, 5, (20,))
    plain = run_eval(model, [(x, y)], 5, device=torch.device("cpu"))
    tta = run_eval(model, [(x, y)], 5, device=torch.device("cpu"), tta="flip")
    assert tta.loss == pytest.approx(plain.loss, rel=1e-5)
    assert tta.top1_error == plain.top1_error


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("folder")
    rng = np.random.default_rng(0)
    for split, n in (("train", 4), ("val", 2)):
        for name in ("a", "b"):
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / name / f"{i}.png")
    return root


def test_image_folders_evaluate_at_another_resolution(folder):
    cfg = load_config(
        None,
        ["data.name=folder", "data.folder_pipeline=imagenet", f"data.root={folder}",
         "data.image_size=16", "data.eval_image_size=24", "data.eval_resize=28", "data.num_workers=0",
         "data.batch_size=4", "train.channels_last=false"],
    )  # fmt: skip
    data = build_data(cfg, torch.device("cpu"), DistInfo())
    x, _ = next(iter(data.train))
    assert tuple(x.shape[-2:]) == (16, 16)  # trains at 16 ...
    xe, _ = next(iter(data.evals["test"]))
    assert tuple(xe.shape[-2:]) == (24, 24)  # ... tests at 24
    assert data.image_size == (24, 24) and data.resize == 28  # what predict will use
    # the same weights score the larger images (a ResNet pools globally)
    model = models.create("resnet18", num_classes=2)
    res = run_eval(model, data.evals["test"], 2, device=torch.device("cpu"), on_device=data.on_device)  # fmt: skip
    assert res.count == 4


def test_image_folders_hold_out_a_validation_split_and_keep_the_best_on_it(folder, tmp_path):
    """data.val_size on an image folder: held out of train/ (seeded by data.split_seed, the
    same images in eval), evaluated like the test set, and best.safetensors chosen on it."""
    from reslab.engine.evaluate import evaluate

    common = ["data.name=folder", "data.folder_pipeline=imagenet", f"data.root={folder}", "data.image_size=16",
              "data.num_workers=0", "data.batch_size=4", "data.val_size=0.25"]  # fmt: skip
    data = build_data(load_config(None, common), torch.device("cpu"), DistInfo())
    assert data.sizes == {"train": 6, "val": 2, "test": 4}
    held = data.evals["val"].dataset
    assert sorted(held.dataset.samples[i][1] for i in held.indices) == [0, 1]  # stratified
    assert set(held.indices).isdisjoint(data.train.dataset.indices)
    run = train(
        None,
        [*common, "model.name=resnet18", "train.iterations=4", "train.eval_every=2",
         "schedule.warmup_iters=0", f"out_dir={tmp_path}", "name=f", *FAST],
    )  # fmt: skip
    summary = json.loads((run.dir / "summary.json").read_text())
    assert summary["data_sizes"] == {"train": 6, "val": 2, "test": 4}
    assert summary["best_val_step"] in (2, 4) and (run.dir / "best.safetensors").is_file()
    assert evaluate(run.dir, split="val").count == 2  # the held-out images, not val/
    assert evaluate(run.dir, split="train").count == 6
    assert evaluate(run.dir).count == 4


def test_eval_sizes_are_refused_off_image_folders():
    with pytest.raises(ConfigError, match="data.eval_image_size is for image folders"):
        build_data(
            load_config("digits_resnet20", ["data.eval_image_size=12"]),
            torch.device("cpu"),
            DistInfo(),
        )


# ----------------------------------------------------------------------------- end to end
def test_cuda_graphs_refuse_the_options_that_change_the_step(cifar_root, tmp_path):
    # AdamW too: torch refuses to capture Adam's step unless it was built capturable
    for key, value, named in (("train.accumulate", 2, "train.accumulate"),
                              ("optim.clip_grad_norm", 1.0, "optim.clip_grad_norm"),
                              ("data.cutmix_alpha", 1.0, "data.cutmix_alpha"),
                              ("optim.name", "adamw", "optim.name=adamw")):  # fmt: skip
        with pytest.raises(ConfigError, match=f"^{named} is not supported with train.cuda_graphs"):
            train(
                "cifar10_resnet20",
                [f"data.root={cifar_root}", "data.val_size=20", "data.batch_size=8", "train.iterations=2",
                 "train.device=auto", "train.cuda_graphs=true", f"{key}={value}",
                 f"out_dir={tmp_path}", "name=g", *FAST],
            )  # fmt: skip
        assert not (tmp_path / "g").exists()  # refused before the run's folder was made


def _modern(cifar_root, out, name, *extra):
    return [
        f"data.root={cifar_root}", "data.val_size=20", "data.batch_size=8",
        "train.accumulate=2", "train.iterations=4", "train.eval_every=2",
        "train.checkpoint_every=2", "train.log_every=1", "optim.clip_grad_norm=5.0",
        "optim.scale_lr_with_batch=16", "data.random_erase=0.25",
        "data.auto_augment=trivialaugment", f"out_dir={out}", f"name={name}", *FAST, *extra,
    ]  # fmt: skip


@pytest.mark.timeout(600)
@pytest.mark.filterwarnings("ignore:schedule.warmup_iters")
def test_the_modern_recipe_runs_end_to_end_and_resumes_exactly(cifar_root, tmp_path, monkeypatch):
    """cifar10_resnet56_modern (stochastic depth, MixUp/CutMix, label smoothing, cosine with a
    warm-up from 0.01) plus accumulation, clipping, lr scaling, erasing and TrivialAugment,
    tiny: an interrupted and resumed run ends with the weights of an uninterrupted one."""
    from reslab.data.augment import TrainBatchAugment

    mixed = []
    original = TrainBatchAugment.__call__
    monkeypatch.setattr(
        TrainBatchAugment,
        "__call__",
        lambda self, x, y, seed: mixed.append(seed) or original(self, x, y, seed),
    )
    whole = train("cifar10_resnet56_modern", _modern(cifar_root, tmp_path, "whole"))
    assert whole.status == "completed" and whole.step == 4
    assert len(mixed) == 8 and len(set(mixed)) == 8  # 4 steps x 2 micro-batches, own draws
    records = [json.loads(line) for line in (whole.dir / "metrics.jsonl").read_text().splitlines()]
    lrs = [r["lr"] for r in records if r["kind"] == "train"]
    # lr 0.1 for batch 16 -> 0.05 for 8; warm-up from 0.01 of it over 1755 steps
    assert lrs[0] == pytest.approx(0.05 * (0.01 + 0.99 / 1755))
    summary = json.loads((whole.dir / "summary.json").read_text())
    assert summary["best_val_step"] in (2, 4) and (whole.dir / "best.safetensors").is_file()

    # the same run, stopped after its first step and resumed
    monkeypatch.setattr(trainer_module._StopSignal, "requested", property(lambda self: True))
    stopped = train("cifar10_resnet56_modern", _modern(cifar_root, tmp_path, "x"))
    assert stopped.status == "interrupted" and stopped.step == 1
    monkeypatch.undo()
    resumed = train("cifar10_resnet56_modern", _modern(cifar_root, tmp_path, "x"), resume="auto")
    assert resumed.status == "completed" and resumed.step == 4
    expected, got = load_file(whole.weights), load_file(resumed.weights)
    assert [k for k in expected if not torch.equal(expected[k], got[k])] == []
    assert (
        json.loads((resumed.dir / "summary.json").read_text())["best_val_step"]
        == (summary["best_val_step"])
    )


class _Fixed(nn.Module):
    """Predicts class 0 for every input."""

    def forward(self, x):
        return torch.tensor([3.0, 2.0, 1.0, 0.0]).expand(len(x), 4)


def test_errors_are_wrong_over_count_without_float_noise():
    """19 of 100 wrong is 19.0%, as summary.json stores it (100 * (1 - 81/100) made
    18.999999999999993)."""
    y = torch.tensor([0] * 81 + [2] * 19)
    result = run_eval(_Fixed(), [(torch.zeros(100, 1), y)], 4, device=torch.device("cpu"))
    assert result.top1_error == 19.0


def test_each_evaluation_during_training_is_a_line_on_the_terminal(tmp_path, capsys):
    """train.eval_every=2 of 6 iterations: lines for steps 2 and 4 with the numbers metrics.jsonl
    holds (the last evaluation is the "done" line); none with train.progress=false."""
    from reslab.engine.logger import read_metrics

    args = ["train.iterations=6", "train.eval_every=2", "train.tensorboard=false",
            "data.val_size=100", f"out_dir={tmp_path}"]  # fmt: skip
    run = train("digits_resnet20", [*args, "name=shown"])
    out = capsys.readouterr().out
    evals = [r for r in read_metrics(run.dir) if r.get("kind") == "eval"]
    lines = [x for x in out.splitlines() if x.startswith("step ")]
    assert lines == [
        f"step {r['step']}/6: val error {r['val_error']:.2f}%, test error {r['test_error']:.2f}%"
        for r in evals
        if r["step"] < 6
    ]
    assert len(lines) == 2
    train("digits_resnet20", [*args, "name=quiet", "train.progress=false"])
    assert not [x for x in capsys.readouterr().out.splitlines() if x.startswith("step ")]
