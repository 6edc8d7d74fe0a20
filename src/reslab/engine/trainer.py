"""The training loop. It reads top to bottom: set up, (resume), step, log, evaluate, save.

A run directory holds config.yaml, metrics.jsonl, tensorboard/, checkpoints/, and at the end
final.safetensors + model.json (everything `reslab predict` needs) and summary.json.
"""

from __future__ import annotations

import errno
import math
import signal
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from reslab import models
from reslab.engine import distributed
from reslab.engine.checkpoint import CheckpointManager, rng_state, set_rng_state
from reslab.engine.config import Config, load_config
from reslab.engine.evaluate import EvalResult, run_eval
from reslab.engine.graphs import GraphedTrainStep
from reslab.engine.logger import MetricsLogger
from reslab.engine.optim import EMA, build_optimizer, lr_at, set_lr
from reslab.engine.rundir import prepare_run_dir
from reslab.engine.setup import (
    RunData,
    build_data,
    build_model,
    configure_runtime,
    model_kwargs,
    resolve_device,
)
from reslab.engine.step import autocast_dtype, forward_loss, optimizer_step
from reslab.errors import CheckpointError, ConfigError, TrainingError
from reslab.utils.io import write_json
from reslab.utils.progress import ProgressBar


@dataclass
class Run:
    """The outcome of :func:`train`."""

    dir: Path
    config: Config
    status: Literal["completed", "interrupted"]
    step: int
    history: list[dict[str, Any]] = field(default_factory=list)
    """One record per evaluation (errors in percent)."""
    final: dict[str, Any] = field(default_factory=dict)
    """Test metrics of the final weights."""
    wall_time_s: float = 0.0
    weights: Path | None = None


_FORCE_AFTER_S = 1.0
"""A second Ctrl-C at least this long after the first stops at once, without a checkpoint."""


class _StopSignal:
    """SIGTERM/SIGINT ask the loop to checkpoint at the next step boundary and exit cleanly.

    One request often arrives twice: a scheduler signals the whole process group and torchrun
    forwards its own copy to each worker. Repeats are therefore ignored, except a second
    SIGINT that comes at least _FORCE_AFTER_S later (a person pressing Ctrl-C again).
    """

    def __init__(self) -> None:
        self.requested_at: float | None = None
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.requested_at is not None

    def __enter__(self) -> _StopSignal:
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        now = time.monotonic()
        if self.requested_at is None:
            self.requested_at = now
        elif signum == signal.SIGINT and now - self.requested_at >= _FORCE_AFTER_S:
            raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def train(
    config: str | Path | dict | Config | None = None,
    overrides: list[str] | None = None,
    *,
    resume: str | None = None,
) -> Run:
    """Train a model as ``config`` says (a recipe path, a dict or a Config).

    ``resume``: None for a new run, "auto" to continue the newest run of this name, or a run
    directory / checkpoint file.
    """
    cfg = load_config(config, overrides)
    configure_runtime(cfg)
    info = distributed.setup(
        "cuda"
        if cfg.train.device.startswith("cuda")
        or (cfg.train.device == "auto" and torch.cuda.is_available())
        else "cpu"
    )
    try:
        return _train(cfg, info, resume)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise TrainingError(
                f"the disk is full (writing {e.filename or 'a run file'}); the checkpoints "
                "saved so far are intact: free some space, then continue with --resume auto"
            ) from None
        raise
    except RuntimeError as e:
        if info.enabled and distributed.is_peer_failure(e):
            raise TrainingError(
                f"process {info.rank} of {info.world_size} lost contact with the others "
                f"({distributed.first_line(e)}); another process has probably failed (see its "
                "error). The checkpoints saved so far are intact: continue with --resume auto"
            ) from None
        raise
    finally:
        distributed.teardown(info)


def _train(cfg: Config, info: distributed.DistInfo, resume: str | None) -> Run:
    t_start = time.perf_counter()
    device = resolve_device(cfg.train.device, info)
    run_dir, ckpt_state = prepare_run_dir(cfg, resume, device)
    torch.manual_seed(cfg.train.seed)  # the same initial weights on every rank
    data = build_data(cfg, device, info)
    model = build_model(cfg, data).to(device)
    if cfg.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if info.enabled and cfg.train.sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    optimizer = build_optimizer(model, cfg.optim)
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.train.precision == "fp16")
    ema = EMA(model, cfg.optim.ema_decay) if cfg.optim.ema_decay > 0 else None
    ckpts = CheckpointManager(run_dir / "checkpoints", keep=cfg.train.keep_checkpoints)
    if info.is_main:
        ckpts.remove_stale_temp_files()  # left by a process killed while saving

    step, epoch, batch_in_epoch, bad_steps = 0, 0, 0, 0
    warmup_done = cfg.schedule.warmup_lr is None
    history: list[dict[str, Any]] = []
    elapsed_before = 0.0
    if ckpt_state is not None:
        state, path = ckpt_state
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise CheckpointError(
                f"{path} does not fit this config ({str(e).splitlines()[0]}); "
                "resume with the run's own config.yaml"
            ) from None
        scaler.load_state_dict(state["scaler"])
        if ema is not None and state.get("ema") is not None:
            ema.state = {k: v.to(device) for k, v in state["ema"].items()}
        step, epoch, batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
        bad_steps, warmup_done = state["bad_steps"], state["warmup_done"]
        history, elapsed_before = list(state["history"]), float(state["elapsed_s"])
        set_rng_state(state["rng"])
        if info.is_main:
            print(f"resumed {run_dir} from {path.name} at step {step}", flush=True)

    if not distributed.all_equal(step, info, device):
        raise TrainingError(
            f"the processes of this job resumed from different steps (this one: {step}); "
            f"put out_dir ({cfg.out_dir}) on a filesystem that every node shares"
        )

    train_model: nn.Module = model
    if cfg.train.compile:
        train_model = torch.compile(model)
    graphed = _graphed_step(cfg, device, info, train_model, model, optimizer)
    if info.enabled:
        train_model = nn.parallel.DistributedDataParallel(
            train_model, device_ids=[device.index] if device.type == "cuda" else None
        )

    total = cfg.train.iterations
    logger = MetricsLogger(
        run_dir,
        enabled=info.is_main,
        tensorboard=cfg.train.tensorboard,
        resume_step=step if ckpt_state is not None else None,
    )
    if info.is_main:
        _describe(cfg, data, info, run_dir)
    dtype = autocast_dtype(cfg.train.precision)
    window = _Window(device)
    # a skipped step must leave no trace, but its forward pass has already moved BN statistics
    buffers = _Buffers(model) if cfg.train.max_bad_steps > 0 else None

    def checkpoint_state() -> dict[str, Any]:
        return {
            "model": models.unwrap(model).state_dict(),
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(),
            "ema": ema.state if ema else None,
            "epoch": epoch,
            "batch_in_epoch": batch_in_epoch,
            "bad_steps": bad_steps,
            "warmup_done": warmup_done,
            "rng": rng_state(),
            "history": history,
            "elapsed_s": elapsed_before + time.perf_counter() - t_start,
            "config": cfg.to_dict(),
        }

    saved_step = step if ckpt_state is not None else -1

    def save_checkpoint() -> None:
        nonlocal saved_step
        if saved_step == step:
            return
        _assert_finite(model, step, ckpts)  # on every rank, so that all of them stop together
        if info.is_main:
            ckpts.save(checkpoint_state(), step)
        saved_step = step
        distributed.barrier(info)

    bar = ProgressBar(
        total,
        f"train {cfg.model.name}",
        enabled=info.is_main and cfg.train.progress,
        log_every_s=15,
    )
    bar.update(step)
    batches = None
    status: Literal["completed", "interrupted"] = "completed"
    with _StopSignal() as stop, bar:
        while step < total:
            if batches is None:
                data.set_epoch(epoch)
                batches = iter(data.iter_train(batch_in_epoch))
            try:
                x, y = next(batches)
            except StopIteration:
                epoch, batch_in_epoch, batches = epoch + 1, 0, None
                continue
            x, y = data.to_device(x, y, device)
            lr = (
                cfg.schedule.warmup_lr
                if not warmup_done
                else lr_at(step, total, cfg.optim.lr, cfg.schedule)
            )
            if graphed is not None:
                loss, logits = graphed(x, y, lr)
            else:
                set_lr(optimizer, lr)
                if buffers is not None:
                    buffers.save()
                loss, logits = forward_loss(
                    train_model,
                    x,
                    y,
                    dtype=dtype,
                    label_smoothing=cfg.optim.label_smoothing,
                )
                locally_bad = not bool(torch.isfinite(loss))
                # every rank skips or stops together; one rank alone would hang DDP's backward
                if distributed.broadcast_flag(locally_bad, info, device):
                    bad_steps += 1
                    cause = _bad_step_cause(locally_bad, x)
                    if bad_steps > cfg.train.max_bad_steps:
                        raise TrainingError(
                            f"non-finite loss at step {step + 1}, from {cause}; the last good "
                            f"checkpoint ({_newest(ckpts)}) is intact: lower optim.lr, check the "
                            "data, or allow skips with train.max_bad_steps"
                        )
                    warnings.warn(
                        f"skipping step {step + 1}: non-finite loss from {cause}", stacklevel=1
                    )
                    if buffers is not None:
                        buffers.restore()
                    optimizer.zero_grad(set_to_none=True)
                    batch_in_epoch += 1
                    continue
                optimizer_step(loss, optimizer, scaler)
            if ema is not None:
                ema.update(model)
            step += 1
            batch_in_epoch += 1
            window.add(loss.detach(), logits.detach(), y)

            if not warmup_done and (step % 20 == 0 or step >= cfg.schedule.warmup_max_iters):
                err = window.peek_error(info)
                threshold = cfg.schedule.warmup_until_train_error
                if step >= cfg.schedule.warmup_max_iters or (
                    threshold is not None and err < threshold
                ):
                    warmup_done = True
                    if info.is_main:
                        print(f"warm-up over at step {step} (train error {err:.1f}%)", flush=True)
            if step % cfg.train.log_every == 0 or step == total:
                rec = window.flush(info, x.shape[0] * info.world_size)
                if graphed is not None and not math.isfinite(rec["train_loss"]):
                    raise TrainingError(
                        f"non-finite loss in steps {step - cfg.train.log_every + 1}..{step} "
                        f"(a graphed step is checked at each log line); the last good checkpoint "
                        f"({_newest(ckpts)}) is intact: lower optim.lr or check the data"
                    )
                rec.update(kind="train", step=step, epoch=round(step / len(data.train), 3), lr=lr)
                logger.log(rec)
                bar.update(
                    cfg.train.log_every
                    if step % cfg.train.log_every == 0
                    else step % cfg.train.log_every,
                    status=f"loss {rec['train_loss']:.3f} err {rec['train_error']:.1f}% "
                    f"lr {lr:.3g} {rec['img_s']:.0f} img/s",
                )
            if step % cfg.train.eval_every == 0 or step == total:
                record = _evaluate(model, data, cfg, device, info, dtype)
                record.update(
                    step=step,
                    epoch=round(step / len(data.train), 3),
                    lr=lr,
                    train_loss=window.last.get("train_loss"),
                    train_error=record.get("train_error", window.last.get("train_error")),
                    running_train_error=window.last.get("train_error"),
                )
                history.append(record)
                logger.log({"kind": "eval", **record})
            if step % cfg.train.checkpoint_every == 0 or step == total:
                save_checkpoint()
            if distributed.broadcast_flag(stop.requested, info, device) and step < total:
                save_checkpoint()
                status = "interrupted"
                if info.is_main:
                    print(
                        f"stopped by signal at step {step}; checkpoint saved. Continue with "
                        f"`reslab train {run_dir / 'config.yaml'} --resume auto`",
                        flush=True,
                    )
                break
    logger.close()
    wall = elapsed_before + time.perf_counter() - t_start
    run = Run(dir=run_dir, config=cfg, status=status, step=step, history=history, wall_time_s=wall)
    if status == "completed":
        run.final, run.weights = _finish(
            model, ema, data, cfg, device, info, run_dir, history, wall, dtype
        )
    return run


def _graphed_step(
    cfg: Config,
    device: torch.device,
    info: distributed.DistInfo,
    train_model: nn.Module,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
) -> GraphedTrainStep | None:
    if not cfg.train.cuda_graphs:
        return None
    if device.type != "cuda":
        raise ConfigError(
            f"train.cuda_graphs needs a CUDA device and this run is on {device}: "
            "set train.cuda_graphs=false"
        )
    if info.enabled:
        raise ConfigError("train.cuda_graphs runs in one process: leave it off under torchrun")
    return GraphedTrainStep(
        train_model,
        model,
        optimizer,
        dtype=autocast_dtype(cfg.train.precision),
        label_smoothing=cfg.optim.label_smoothing,
    )


class _Window:
    """Running training loss/error since the last log line, kept on the device (no syncs)."""

    def __init__(self, device: torch.device) -> None:
        self.sums = torch.zeros(3, dtype=torch.float64, device=device)
        self.t0 = time.perf_counter()
        self.last: dict[str, float] = {}

    def add(self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        n = y.numel()
        self.sums[0] += loss.double() * n
        self.sums[1] += (logits.argmax(1) != y).sum()
        self.sums[2] += n

    def peek_error(self, info: distributed.DistInfo) -> float:
        s = distributed.all_reduce_sum(self.sums.clone(), info)
        return 100.0 * s[1].item() / max(1.0, s[2].item())

    def flush(self, info: distributed.DistInfo, global_batch: int) -> dict[str, float]:
        s = distributed.all_reduce_sum(self.sums.clone(), info).tolist()
        dt = time.perf_counter() - self.t0
        n = max(1.0, s[2])
        self.last = {
            "train_loss": s[0] / n,
            "train_error": 100.0 * s[1] / n,
            "img_s": s[2] / dt if dt > 0 else 0.0,
            "time_s": dt,
        }
        self.sums.zero_()
        self.t0 = time.perf_counter()
        return dict(self.last)


class _Buffers:
    """A copy of the model's buffers (BatchNorm statistics) to undo a skipped step's forward."""

    def __init__(self, model: nn.Module) -> None:
        self.live = list(model.buffers())
        self.saved = [b.detach().clone() for b in self.live]

    @torch.no_grad()
    def save(self) -> None:
        for saved, live in zip(self.saved, self.live):
            saved.copy_(live)

    @torch.no_grad()
    def restore(self) -> None:
        for saved, live in zip(self.saved, self.live):
            live.copy_(saved)


def _evaluate(
    model: nn.Module,
    data: RunData,
    cfg: Config,
    device: torch.device,
    info: distributed.DistInfo,
    dtype: torch.dtype | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for split, loader in data.evals.items():
        res = run_eval(
            model,
            loader,
            data.num_classes,
            device=device,
            precision=cfg.train.precision if dtype else "fp32",
            info=info,
        )
        out[f"{split}_error"] = res.top1_error
        out[f"{split}_loss"] = res.loss
        out[f"{split}_count"] = res.count
    return out


def _finish(
    model: nn.Module,
    ema: EMA | None,
    data: RunData,
    cfg: Config,
    device: torch.device,
    info: distributed.DistInfo,
    run_dir: Path,
    history: list[dict],
    wall: float,
    dtype: torch.dtype | None,
) -> tuple[dict[str, Any], Path | None]:
    final_model = models.unwrap(model)
    if ema is not None:
        final_model.load_state_dict(ema.state)
    result: EvalResult = run_eval(
        final_model,
        data.evals["test"],
        data.num_classes,
        device=device,
        info=info,
        classes=data.classes,
    )
    final = {
        "test_error": result.top1_error,
        "test_top5_error": result.top5_error,
        "test_loss": result.loss,
        "test_count": result.count,
    }
    if not info.is_main:
        return final, None
    meta = {
        "model": cfg.model.name,
        "model_kwargs": model_kwargs(cfg),
        "num_classes": data.num_classes,
        "in_channels": data.in_channels,
        "classes": data.classes,
        "image_size": list(data.image_size),
        "mean": list(data.mean),
        "std": list(data.std),
        "resize": data.resize,
        "data": cfg.data.name,
        "val_size": cfg.data.val_size,
        "seed": cfg.train.seed,
    }
    weights = models.save_weights(final_model, run_dir / "final.safetensors", meta)
    write_json(run_dir / "model.json", meta)
    best = min((h["test_error"] for h in history if h.get("test_error") is not None), default=None)
    write_json(
        run_dir / "summary.json",
        {
            "status": "completed",
            "step": cfg.train.iterations,
            "final": final,
            "best_test_error": best,
            "wall_time_s": wall,
            "data_sizes": data.sizes,
            "per_class_accuracy": result.per_class_accuracy,
            "confusion": result.confusion,
            "classes": data.classes,
        },
    )
    print(
        f"done: test error {final['test_error']:.2f}% on {result.count} images "
        f"({wall:.0f}s); weights in {weights}",
        flush=True,
    )
    return final, weights


def _bad_step_cause(locally_bad: bool, x: torch.Tensor) -> str:
    if not locally_bad:
        return "another process's batch"
    return "the input batch" if not torch.isfinite(x).all() else "the loss"


def _assert_finite(model: nn.Module, step: int, ckpts: CheckpointManager) -> None:
    for name, p in models.unwrap(model).state_dict().items():
        if p.is_floating_point() and not torch.isfinite(p).all():
            raise TrainingError(
                f"weights became non-finite ({name}) by step {step}; the last good "
                f"checkpoint ({_newest(ckpts)}) is intact: lower optim.lr"
            )


def _newest(ckpts: CheckpointManager) -> str:
    paths = ckpts.paths()
    return paths[-1].name if paths else "none yet"


def _describe(cfg: Config, data: RunData, info: distributed.DistInfo, run_dir: Path) -> None:
    per_rank = cfg.data.batch_size // info.world_size
    scale = f" over {info.world_size} processes ({per_rank} each)" if info.enabled else ""
    print(
        f"run {run_dir}: {cfg.model.name} on {cfg.data.name} ({data.train_size} train images), "
        f"global batch {cfg.data.batch_size}{scale}, lr {cfg.optim.lr} (for the global batch), "
        f"{cfg.train.iterations} iterations",
        flush=True,
    )
