"""The training loop. It reads top to bottom: set up, (resume), step, log, evaluate, save.

A run directory holds config.yaml, metrics.jsonl, tensorboard/, checkpoints/, and at the end
final.safetensors + model.json (everything `reslab predict` needs) and summary.json.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import errno
import json
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
from reslab.data.catalog import check_dataset_name
from reslab.data.loader import derive_seed
from reslab.engine import distributed
from reslab.engine.checkpoint import (
    CheckpointManager,
    load_checkpoint,
    rng_state,
    set_rng_state,
)
from reslab.engine.config import Config, load_config
from reslab.engine.evaluate import EvalResult, run_eval
from reslab.engine.graphs import GraphedTrainStep
from reslab.engine.logger import MetricsLogger
from reslab.engine.optim import EMA, build_optimizer, peak_lr, set_lr
from reslab.engine.rundir import RESUME_HOW, RunDir, open_run_dir
from reslab.engine.schedule import Schedule
from reslab.engine.setup import (
    RunData,
    build_data,
    build_model,
    configure_runtime,
    model_kwargs,
    resolve_channels_last,
    resolve_device,
)
from reslab.engine.step import (
    apply_gradients,
    autocast_dtype,
    backward,
    forward_loss,
    gradients_finite,
)
from reslab.errors import CheckpointError, ConfigError, DataError, ReslabError, TrainingError
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
    stopped_by: int | None = None
    """The signal that stopped an interrupted run (SIGINT, SIGTERM)."""


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
        self.signum: int | None = None
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
            self.requested_at, self.signum = now, signum
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
    directory / checkpoint file; without ``config`` that run's own config.yaml is the config.
    """
    cfg = load_config(resumed_config(config, resume), overrides)
    # a mistyped dataset is the mistake to name, before any clash with an existing run's name
    check_dataset_name(cfg.data.name, "an image folder, with data.root=DIR")
    if resume is not None:
        _check_moved_root(cfg, overrides or [])
    device_type = (
        "cuda"
        if cfg.train.device.startswith("cuda")
        or (cfg.train.device == "auto" and torch.cuda.is_available())
        else "cpu"
    )
    configure_runtime(cfg, device_type)
    info = distributed.setup(device_type)
    try:
        return _train(cfg, info, resume)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise TrainingError(
                f"the disk is full (writing {e.filename or 'a run file'}); the checkpoints "
                f"saved so far are intact: free some space, then continue ({RESUME_HOW})"
            ) from None
        raise
    except RuntimeError as e:
        if info.enabled and distributed.is_peer_failure(e):
            raise TrainingError(
                f"process {info.rank} of {info.world_size} lost contact with the others "
                f"({distributed.first_line(e)}); another process has probably failed (see its "
                f"error). The checkpoints saved so far are intact: continue ({RESUME_HOW})"
            ) from None
        raise
    finally:
        distributed.teardown(info)


def resumed_config(
    config: str | Path | dict | Config | None, resume: str | None
) -> str | Path | dict | Config | None:
    """The config a training command means: ``config``, or, where only ``--resume RUN`` (a run
    directory or one of its checkpoints) is given, that run's own config.yaml."""
    if config is None and resume not in (None, "auto"):
        given = Path(resume)
        run_dir = given if given.is_dir() else given.parent.parent  # RUN/checkpoints/step_*.pt
        if (run_dir / "config.yaml").is_file():
            return run_dir / "config.yaml"
    return config


def _eval_line(record: dict[str, Any], total: int) -> str:
    """ "step 20/40: val error 85.00%, test error 82.00%", for the terminal during training."""
    parts = [
        f"{split} error {record[f'{split}_error']:.2f}%"
        for split in ("train", "val", "test")
        if isinstance(record.get(f"{split}_error"), (int, float)) and f"{split}_count" in record
    ]
    return f"step {record['step']}/{total}: " + (", ".join(parts) or "evaluated")


def _input_words(data: RunData) -> str:
    """ ", 224x224 input" and the like, for the run line (nothing where the size is unknown)."""
    size = getattr(data, "image_size", None)
    return f", {size[0]}x{size[1]} input" if size else ""


def _check_moved_root(cfg: Config, overrides: list[str]) -> None:
    """A resumed run's relative data.root is read from where the command runs, which is not
    where the run started once the run (or the shell) has moved: say how to point it again."""
    root = cfg.data.root
    given = any(o.split("=", 1)[0].strip() == "data.root" for o in overrides)
    if not root or given or cfg.data.download or Path(root).exists():
        return
    if Path(root).is_absolute():
        raise DataError(
            f"data.root {root}, where this run found its data, does not exist here (moved, or "
            "another machine): add data.root=PATH, the data's folder now, to the resume command"
        )
    raise DataError(
        f"data.root {root} does not exist from here ({Path.cwd()}): the run's config gives it "
        "relative to the directory the run was started in; add data.root=PATH, the data's "
        "path from here, to the resume command"
    )


def _train(cfg: Config, info: distributed.DistInfo, resume: str | None) -> Run:
    device = resolve_device(cfg.train.device, info)
    _refuse_what_graphs_cannot_run(cfg, device, info)  # before any folder or data
    # claimed for the life of the run; removed again if it fails before doing any work
    with open_run_dir(cfg, resume, device, info) as rundir:
        trainer = _Trainer(rundir, info, device)
        try:
            return trainer.fit()
        finally:
            trainer.close()


@dataclass
class TrainState:
    """Where the loop is. Saved in every checkpoint and restored from it as one object, so a
    field added here is saved and restored by construction. Checkpoints are taken between
    optimizer steps only, so a step's gradient accumulation is never half done in one."""

    step: int = 0
    """Optimizer steps taken."""
    epoch: int = 0
    batch_in_epoch: int = 0
    """Batches of this epoch consumed (skipped bad batches included): where a resume goes on."""
    bad_steps: int = 0
    """Steps skipped for a non-finite loss so far."""
    history: list[dict[str, Any]] = field(default_factory=list)
    """One record per evaluation."""
    elapsed_s: float = 0.0
    """Training time before this process started (earlier runs of a resumed run)."""
    window: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    """The running loss/error sums since the last log line (loss*n, errors, n)."""
    best_val_error: float | None = None
    """The lowest validation error (%) so far; its weights are best.safetensors."""
    best_val_step: int | None = None
    """The step at which that error was measured."""

    _ADDED_LATER = {"window": [0.0, 0.0, 0.0], "best_val_error": None, "best_val_step": None}
    """Fields that checkpoints of earlier reslab versions lack, and their value then."""

    def state_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for f in dataclasses.fields(self):
            if f.name in state:
                value = state[f.name]
            elif f.name in self._ADDED_LATER:
                value = self._ADDED_LATER[f.name]
            else:
                raise CheckpointError(f"the checkpoint lacks the loop's {f.name!r}")
            setattr(self, f.name, list(value) if isinstance(value, list) else value)


class _Trainer:
    """One run: set up from the config, then (step -> log -> evaluate -> checkpoint)* -> finish."""

    def __init__(self, rundir: RunDir, info: distributed.DistInfo, device: torch.device) -> None:
        self.t_start = time.perf_counter()
        self.info, self.device, self.rundir = info, device, rundir
        self._setup(rundir.config)

    # ------------------------------------------------------------------ setup
    def _setup(self, cfg: Config) -> None:
        info, device = self.info, self.device
        self.cfg, self.run_dir = cfg, self.rundir.path
        torch.manual_seed(cfg.train.seed)  # the same initial weights on every rank
        self.data = build_data(cfg, device, info)
        self.model = build_model(cfg, self.data).to(device)
        if resolve_channels_last(cfg, device):
            self.model = self.model.to(memory_format=torch.channels_last)
        if info.enabled and cfg.train.sync_bn:
            self.model = nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
        self.optimizer = build_optimizer(self.model, cfg.optim)
        self.scaler = torch.amp.GradScaler(device.type, enabled=cfg.train.precision == "fp16")
        self.ema = EMA(self.model, cfg.optim.ema_decay) if cfg.optim.ema_decay > 0 else None
        # the net a run ships (final.safetensors), evaluates and keeps as best.safetensors
        self.shipped = self.ema.module if self.ema is not None else self.model
        self.lr = peak_lr(cfg.optim, cfg.data.batch_size)
        self.schedule = Schedule(cfg.schedule, self.lr, cfg.train.iterations)
        if len(self.data.train) < cfg.train.accumulate:
            raise ConfigError(
                f"train.accumulate={cfg.train.accumulate} needs that many micro-batches per step "
                f"but an epoch has {len(self.data.train)}: lower it or data.batch_size"
            )
        self.state = TrainState()
        self.ckpts = CheckpointManager(
            self.run_dir / "checkpoints", keep=cfg.train.keep_checkpoints
        )
        if info.is_main:
            self.ckpts.remove_stale_temp_files()  # left by a process killed while saving
        self.window = _Window(device)
        self.resumed = self.rundir.checkpoint is not None
        if self.resumed:
            self._restore(*self.rundir.checkpoint)
            if info.is_main:
                self._reconcile_best(*self.rundir.checkpoint)
        self.stats_averaged_at = -1
        if not distributed.all_equal(self.state.step, info, device):
            raise TrainingError(
                f"the processes of this job resumed from different steps (this one: "
                f"{self.state.step}); put out_dir ({cfg.out_dir}) on a filesystem that every "
                "node shares"
            )
        self.train_model: nn.Module = self.model
        if cfg.train.compile:
            self.train_model = torch.compile(self.model)
        self.graphed = _graphed_step(
            cfg, device, info, self.train_model, self.model, self.optimizer, self.scaler
        )
        if info.enabled:
            self.train_model = nn.parallel.DistributedDataParallel(
                self.train_model, device_ids=[device.index] if device.type == "cuda" else None
            )
        self.dtype = autocast_dtype(cfg.train.precision)
        # a skipped step must leave no trace, but its forward pass has already moved BN stats
        self.buffers = _Buffers(self.model) if cfg.train.max_bad_steps > 0 else None
        self.saved_step = self.state.step if self.resumed else -1
        if info.is_main and not self.resumed and (self.run_dir / "metrics.jsonl").exists():
            # --resume auto on an attempt that died before its first checkpoint
            print(
                f"{self.run_dir} holds no checkpoint to resume from: training from step 0 "
                "(the earlier attempt's metrics are replaced, and TensorBoard hides its curves)",
                flush=True,
            )
        self.logger = MetricsLogger(
            self.run_dir,
            enabled=info.is_main,
            tensorboard=cfg.train.tensorboard,
            resume_step=self.state.step if self.resumed else None,
        )
        if info.is_main:
            write_json(self.run_dir / "model.json", _inference_meta(cfg, self.data))
            _describe(cfg, self.data, info, self.run_dir, device, self.lr)
            for line in self.schedule.warnings():
                warnings.warn(line, stacklevel=1)

    def _restore(self, ckpt: dict[str, Any], path: Path) -> None:
        try:
            self.model.load_state_dict(ckpt["model"])
            self.optimizer.load_state_dict(ckpt["optimizer"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise CheckpointError(
                f"{path} does not fit this config ({str(e).splitlines()[0]}); "
                "resume with the run's own config.yaml"
            ) from None
        self.scaler.load_state_dict(ckpt["scaler"])
        if self.ema is not None and ckpt.get("ema") is not None:
            self.ema.load_state_dict(ckpt["ema"])
        self.state.load_state_dict(ckpt)
        self.schedule.load_state_dict(ckpt)
        self.window.load_state_dict(self.state.window)
        set_rng_state(ckpt["rng"])
        if self.info.is_main:
            print(f"resumed {self.run_dir} from {path.name} at step {self.state.step}", flush=True)

    def _reconcile_best(self, ckpt: dict[str, Any], path: Path) -> None:
        """Make best.safetensors describe a step of the restored history. A resume from an
        earlier checkpoint (or a crash between an evaluation and its checkpoint) abandons the
        later steps, and best.safetensors may hold weights of one of them: it is rebuilt from
        the checkpoint of the restored best step if one is kept, else removed."""
        state, best = self.state, self.run_dir / BEST_WEIGHTS
        if _best_file_step(best) == (state.best_val_step, state.best_val_error):
            return
        source = _checkpoint_at(state.best_val_step, ckpt, path, self.ckpts)
        if source is None:
            if best.is_file():
                best.unlink()
                kept = (
                    f"no kept checkpoint holds the best step before it ({state.best_val_step})"
                    if state.best_val_step is not None
                    else "no evaluation before it had a validation error"
                )
                warnings.warn(
                    f"removed {BEST_WEIGHTS}: it held weights of a step that this resume from "
                    f"step {state.step} abandons, and {kept}; the next evaluation that "
                    f"improves on it writes {BEST_WEIGHTS} again",
                    stacklevel=1,
                )
            return
        ckpt, path = source
        weights = ckpt["ema"] if self.ema is not None and ckpt.get("ema") is not None else None
        module = copy.deepcopy(models.unwrap(self.shipped))
        module.load_state_dict(ckpt["model"] if weights is None else weights)
        self._save_best(module, state.best_val_step, state.best_val_error)
        print(
            f"{BEST_WEIGHTS} rebuilt from {path.name}: the best validation error as of step "
            f"{state.step} (step {state.best_val_step})",
            flush=True,
        )

    def _save_best(self, module: nn.Module, step: int, val_error: float) -> None:
        meta = {**_inference_meta(self.cfg, self.data), "step": step, "val_error": val_error}
        models.save_weights(module, self.run_dir / BEST_WEIGHTS, meta)

    def close(self) -> None:
        self.logger.close()
        self.batches = None
        self.data.close()

    # ------------------------------------------------------------------ the loop
    def fit(self) -> Run:
        cfg, state = self.cfg, self.state
        total = cfg.train.iterations
        finished = self._finished_before()
        if finished is not None:
            return finished
        self.bar = ProgressBar(
            total,
            f"train {cfg.model.name}",
            enabled=self.info.is_main and cfg.train.progress,
            log_every_s=15,
            start=state.step,
        )
        status: Literal["completed", "interrupted"] = "completed"
        stopped_by: int | None = None
        self.batches = None
        with _StopSignal() as stop, self.bar:
            while state.step < total:
                micro = self._next_micro_batches()
                lr = self.schedule.lr(state.step)
                out = self._step(micro, lr)
                state.batch_in_epoch += len(micro)
                if out is None:  # a skipped bad batch
                    continue
                if self.ema is not None:
                    self.ema.update(self.model)
                state.step += 1
                for (loss, logits), (_, y) in zip(out, micro):
                    self.window.add(loss.detach(), logits.detach(), y)
                self._end_constant_warmup()
                if state.step % cfg.train.log_every == 0 or state.step == total:
                    self._log(lr)
                if state.step % cfg.train.eval_every == 0 or state.step == total:
                    self._evaluate(lr)
                if state.step % cfg.train.checkpoint_every == 0 or state.step == total:
                    self._checkpoint()
                if distributed.broadcast_flag(stop.requested, self.info, self.device) and (
                    state.step < total
                ):
                    self._checkpoint()
                    status, stopped_by = "interrupted", stop.signum
                    self.bar.advance_to(state.step)
                    break
        if status == "interrupted":  # once the progress bar has printed its last line
            self._say_stopped(stopped_by)
        self.logger.close()
        wall = state.elapsed_s + time.perf_counter() - self.t_start
        run = Run(
            dir=self.run_dir,
            config=cfg,
            status=status,
            step=state.step,
            history=state.history,
            wall_time_s=wall,
            stopped_by=stopped_by,
        )
        if status == "completed":
            self._average_batchnorm_stats()
            run.final, run.weights = _finish(
                self.shipped, self.data, cfg, self.device, self.info, self.run_dir, state, wall
            )
        return run

    def _finished_before(self) -> Run | None:
        """A resume of a run that had already finished (its last checkpoint at the final step,
        its final weights and summary written): said, and returned as it stands, instead of
        evaluating it again. A run stopped between its last checkpoint and its summary is
        finished now, as usual."""
        state, total = self.state, self.cfg.train.iterations
        summary_file = self.run_dir / "summary.json"
        weights = self.run_dir / "final.safetensors"
        if state.step < total or not (weights.is_file() and summary_file.is_file()):
            return None
        try:
            summary = json.loads(summary_file.read_text())
        except (OSError, ValueError):
            return None
        if summary.get("status") != "completed" or summary.get("step") != total:
            return None
        self.logger.close()
        if self.info.is_main:
            print(
                f"{self.run_dir} finished already (step {total} of {total}); nothing to train. "
                f"Its weights: {weights}",
                flush=True,
            )
        return Run(
            dir=self.run_dir,
            config=self.cfg,
            status="completed",
            step=state.step,
            history=state.history,
            final=summary.get("final") or {},
            wall_time_s=float(summary.get("wall_time_s") or state.elapsed_s),
            weights=weights,
        )

    def _next_micro_batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The next step's ``train.accumulate`` batches, on the device and augmented there. An
        epoch's last batches that cannot fill a step are left out, as a last partial batch is."""
        state, k = self.state, self.cfg.train.accumulate
        micro: list[tuple[torch.Tensor, torch.Tensor]] = []
        while len(micro) < k:
            if self.batches is None:
                self.data.set_epoch(state.epoch)
                self.batches = iter(self.data.iter_train(state.batch_in_epoch))
            try:
                x, y = next(self.batches)
            except StopIteration:
                state.epoch, state.batch_in_epoch, self.batches = state.epoch + 1, 0, None
                micro = []
                continue
            index = state.batch_in_epoch + len(micro)
            seed = derive_seed(
                _DEVICE_AUGMENT, self.cfg.train.seed, state.epoch, self.info.rank, index
            )
            micro.append(self.data.to_device(x, y, self.device, seed=seed))
        return micro

    def _step(
        self, micro: list[tuple[torch.Tensor, torch.Tensor]], lr: float
    ) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
        """One optimizer step on ``train.accumulate`` micro-batches: (loss, logits) of each, or
        None when the step was skipped. The gradient is that of the whole batch's mean loss."""
        if self.graphed is not None:
            ((x, y),) = micro
            return [self.graphed(x, y, lr)]
        set_lr(self.optimizer, lr)
        if self.buffers is not None:
            self.buffers.save()
        self.optimizer.zero_grad(set_to_none=True)
        out = []
        for i, (x, y) in enumerate(micro):
            with self._sync_gradients(last=i == len(micro) - 1):
                loss, logits = forward_loss(
                    self.train_model,
                    x,
                    y,
                    dtype=self.dtype,
                    label_smoothing=self.cfg.optim.label_smoothing,
                )
                backward(loss, self.scaler, micro_batches=len(micro))
            out.append((loss.detach(), logits.detach()))
        local = self._non_finite([loss for loss, _ in out])
        # every rank skips or stops together (their backward passes have all run)
        anywhere = distributed.broadcast_flags(local, self.info, self.device)
        if any(anywhere):
            self._skip_bad_step(local, anywhere, [x for x, _ in micro])
            return None
        apply_gradients(self.optimizer, self.scaler, clip_grad_norm=self.cfg.optim.clip_grad_norm)
        return out

    def _sync_gradients(self, last: bool) -> contextlib.AbstractContextManager[None]:
        """DDP averages the gradients over processes once per step, in the last micro-batch's
        backward; the others accumulate locally."""
        model = self.train_model
        if last or not isinstance(model, nn.parallel.DistributedDataParallel):
            return contextlib.nullcontext()
        return model.no_sync()

    def _non_finite(self, losses: list[torch.Tensor]) -> list[bool]:
        """[loss, gradients]: which is non-finite in this step on this process, in one host
        sync. A finite loss can give non-finite gradients, which fp32 and bf16 would apply;
        under fp16 the GradScaler skips such steps itself, so only the loss is checked."""
        loss_ok = torch.stack(losses).isfinite().all()
        grads_ok = (
            gradients_finite(self.optimizer).to(loss_ok.device)
            if not self.scaler.is_enabled()
            else torch.ones_like(loss_ok)
        )
        return [not ok for ok in torch.stack([loss_ok, grads_ok]).tolist()]

    def _skip_bad_step(
        self, local: list[bool], anywhere: list[bool], xs: list[torch.Tensor]
    ) -> None:
        """``local`` and ``anywhere``: [loss, gradients] non-finite here, and on any process
        (DDP averages the gradients, so one process's bad batch spoils everyone's)."""
        self.state.bad_steps += 1
        if anywhere[0]:
            what, cause = "loss", _bad_step_cause(local[0], xs)
        else:
            what, cause = "gradients", "a finite loss"
        step = self.state.step + 1
        if self.state.bad_steps > self.cfg.train.max_bad_steps:
            raise TrainingError(
                f"non-finite {what} at step {step}, from {cause}; the last good checkpoint "
                f"({_newest(self.ckpts)}) is intact: lower optim.lr, check the data, or allow "
                "skips with train.max_bad_steps"
            )
        warnings.warn(f"skipping step {step}: non-finite {what} from {cause}", stacklevel=1)
        if self.buffers is not None:
            self.buffers.restore()
        self.optimizer.zero_grad(set_to_none=True)

    def _end_constant_warmup(self) -> None:
        err = self.schedule.observe(self.state.step, lambda: self.window.peek_error(self.info))
        if err is not None and self.info.is_main:
            print(f"warm-up over at step {self.state.step} (train error {err:.1f}%)", flush=True)

    def _epochs(self, step: int) -> float:
        return round(step * self.cfg.train.accumulate / len(self.data.train), 3)

    def _log(self, lr: float) -> None:
        cfg, step = self.cfg, self.state.step
        rec = self.window.flush(self.info)
        if self.graphed is not None and not math.isfinite(rec["train_loss"]):
            raise TrainingError(
                f"non-finite loss in steps {step - cfg.train.log_every + 1}..{step} (a graphed "
                f"step is checked at each log line); the last good checkpoint "
                f"({_newest(self.ckpts)}) is intact: lower optim.lr or check the data"
            )
        rec.update(kind="train", step=step, epoch=self._epochs(step), lr=lr)
        self.logger.log(rec)
        self.bar.advance_to(
            step,
            status=f"loss {rec['train_loss']:.3f} err {rec['train_error']:.1f}% "
            f"lr {lr:.3g} {rec['img_s']:.0f} img/s",
        )

    def _average_batchnorm_stats(self) -> None:
        """Before an evaluation or a save of weights: every process's BatchNorm statistics
        become their mean (DDP averages gradients, not buffers), so all shards are scored by
        the one net that is saved. Once per step: a second mean could round differently.
        Checkpoints between evaluations hold rank 0's statistics as they are, which DDP would
        copy to the others at the next forward pass anyway, so a resume stays exact."""
        if self.stats_averaged_at == self.state.step or self.cfg.train.sync_bn:
            return
        distributed.average_batchnorm_stats(self.model, self.info)
        if self.ema is not None:
            distributed.average_batchnorm_stats(self.ema.module, self.info)
        self.stats_averaged_at = self.state.step

    def _evaluate(self, lr: float) -> None:
        self._average_batchnorm_stats()
        record = _evaluate(self.shipped, self.data, self.cfg, self.device, self.info, self.dtype)
        last = self.window.last
        record.update(
            step=self.state.step,
            epoch=self._epochs(self.state.step),
            lr=lr,
            train_loss=last.get("train_loss"),
            train_error=record.get("train_error", last.get("train_error")),
            running_train_error=last.get("train_error"),
        )
        self.state.history.append(record)
        self.logger.log({"kind": "eval", **record})
        self._keep_best(record)
        if self.state.step < self.cfg.train.iterations:  # the last one ends in the "done" line
            self.bar.say(_eval_line(record, self.cfg.train.iterations))

    def _keep_best(self, record: dict[str, Any]) -> None:
        """Model selection on the validation split, never the test set: when the validation
        error of the shipped net (the EMA when on) is the lowest so far, its weights become
        best.safetensors."""
        err = record.get("val_error")
        state = self.state
        if err is None or not math.isfinite(err):
            return
        if state.best_val_error is not None and err >= state.best_val_error:
            return
        state.best_val_error, state.best_val_step = err, state.step
        if self.info.is_main:
            self._save_best(models.unwrap(self.shipped), state.step, err)

    def _checkpoint(self) -> None:
        step = self.state.step
        if self.saved_step == step:
            return
        _assert_finite(self.model, step, self.ckpts)  # on every rank: all of them stop together
        if self.info.is_main:
            self.ckpts.save(self._checkpoint_state(), step)
        self.saved_step = step
        distributed.barrier(self.info)

    def _checkpoint_state(self) -> dict[str, Any]:
        self.state.window = self.window.state_dict()
        loop = self.state.state_dict()
        loop["elapsed_s"] = self.state.elapsed_s + time.perf_counter() - self.t_start
        return {
            "model": models.unwrap(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "ema": self.ema.state if self.ema else None,
            "rng": rng_state(),
            "config": self.cfg.to_dict(),
            **loop,
            **self.schedule.state_dict(),
        }

    def _say_stopped(self, signum: int | None) -> None:
        if not self.info.is_main:
            return
        name = signal.Signals(signum).name if signum else "a signal"
        print(
            f"stopped by {name} at step {self.state.step}; checkpoint saved. Continue with "
            f"`reslab train {self.run_dir / 'config.yaml'} --resume auto`",
            flush=True,
        )


def _refuse_what_graphs_cannot_run(
    cfg: Config, device: torch.device, info: distributed.DistInfo
) -> None:
    """train.cuda_graphs with a setting the captured step cannot follow: one ConfigError line.
    (The settings of one section are checked in config.py.)"""
    if not cfg.train.cuda_graphs:
        return
    step = "the captured step is one batch of class labels, unclipped"
    refused = {  # setting: (refused, why)
        "train.accumulate": (cfg.train.accumulate > 1, step),
        "optim.clip_grad_norm": (cfg.optim.clip_grad_norm > 0, step),
        "data.mixup_alpha": (cfg.data.mixup_alpha > 0, step),
        "data.cutmix_alpha": (cfg.data.cutmix_alpha > 0, step),
        # torch captures Adam's step only when built capturable=True, which reslab does not do
        f"optim.name={cfg.optim.name}": (cfg.optim.name != "sgd", "only SGD's step is captured"),
    }
    for key, (on, why) in refused.items():
        if on:
            raise ConfigError(
                f"{key} is not supported with train.cuda_graphs ({why}): change it or set "
                "train.cuda_graphs=false"
            )
    if device.type != "cuda":
        raise ConfigError(
            f"train.cuda_graphs needs a CUDA device and this run is on {device}: "
            "set train.cuda_graphs=false"
        )
    if info.enabled:
        raise ConfigError("train.cuda_graphs runs in one process: leave it off under torchrun")


def _graphed_step(
    cfg: Config,
    device: torch.device,
    info: distributed.DistInfo,
    train_model: nn.Module,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
) -> GraphedTrainStep | None:
    if not cfg.train.cuda_graphs:
        return None  # what it cannot run was refused before the run started
    return GraphedTrainStep(
        train_model,
        model,
        optimizer,
        dtype=autocast_dtype(cfg.train.precision),
        label_smoothing=cfg.optim.label_smoothing,
        scaler=scaler,
    )


_DEVICE_AUGMENT = 2
"""Stream tag of the device-side augmentation seeds (the loaders use 0 and 1)."""

BEST_WEIGHTS = "best.safetensors"
"""The weights with the lowest validation error, in the run directory."""


class _Window:
    """Running training loss/error since the last log line, kept on the device (no syncs)."""

    def __init__(self, device: torch.device) -> None:
        self.sums = torch.zeros(3, dtype=torch.float64, device=device)
        self.t0 = time.perf_counter()
        self.restored = 0.0  # images counted before a resume: not timed by this process
        self.last: dict[str, float] = {}

    def add(self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        """``y``: class labels, or MixUp/CutMix class probabilities, whose largest class is
        taken as the label (the class that makes up most of the mixed image)."""
        if y.ndim == 2:
            y = y.argmax(1)
        n = y.numel()
        self.sums[0] += loss.double() * n
        self.sums[1] += (logits.argmax(1) != y).sum()
        self.sums[2] += n

    def peek_error(self, info: distributed.DistInfo) -> float:
        s = distributed.all_reduce_sum(self.sums.clone(), info)
        return 100.0 * s[1].item() / max(1.0, s[2].item())

    def state_dict(self) -> list[float]:
        return self.sums.tolist()

    def load_state_dict(self, sums: list[float]) -> None:
        self.sums.copy_(torch.tensor(sums, dtype=torch.float64))
        self.restored = float(sums[2])

    def flush(self, info: distributed.DistInfo) -> dict[str, float]:
        s = distributed.all_reduce_sum(self.sums.clone(), info).tolist()
        dt = time.perf_counter() - self.t0
        n = max(1.0, s[2])
        self.last = {
            "train_loss": s[0] / n,
            "train_error": 100.0 * s[1] / n,
            # global images per second; those counted before a resume took no time here
            "img_s": (s[2] - self.restored * info.world_size) / dt if dt > 0 else 0.0,
            "time_s": dt,
        }
        self.sums.zero_()
        self.t0 = time.perf_counter()
        self.restored = 0.0
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
            on_device=data.on_device,
        )
        out[f"{split}_error"] = res.top1_error
        out[f"{split}_loss"] = res.loss
        out[f"{split}_count"] = res.count
    return out


def _finish(
    final_model: nn.Module,
    data: RunData,
    cfg: Config,
    device: torch.device,
    info: distributed.DistInfo,
    run_dir: Path,
    state: TrainState,
    wall: float,
) -> tuple[dict[str, Any], Path | None]:
    """Evaluate the shipped net (the EMA when on) on the test set, save it and the summary."""
    final_model = models.unwrap(final_model)
    result: EvalResult = run_eval(
        final_model,
        data.evals["test"],
        data.num_classes,
        device=device,
        info=info,
        classes=data.classes,
        on_device=data.on_device,
    )
    final = {
        "test_error": result.top1_error,
        "test_top5_error": result.top5_error,
        "test_loss": result.loss,
        "test_count": result.count,
    }
    if not info.is_main:
        return final, None
    meta = _inference_meta(cfg, data)
    weights = models.save_weights(final_model, run_dir / "final.safetensors", meta)
    write_json(run_dir / "model.json", meta)
    best = best_on_val(state.history)
    best_kept = state.best_val_step is not None and _best_file_step(run_dir / BEST_WEIGHTS) == (
        state.best_val_step,
        state.best_val_error,
    )
    write_json(
        run_dir / "summary.json",
        {
            "status": "completed",
            "step": cfg.train.iterations,
            "final": final,
            # chosen on the validation split: the lowest test error over the run would flatter
            "best_val_error": state.best_val_error,
            "best_val_step": state.best_val_step,
            "test_error_at_best_val": best.get("test_error") if best else None,
            # None where a rewind removed it and no later evaluation improved on it
            "best_weights": BEST_WEIGHTS if best_kept else None,
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


def best_on_val(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The evaluation record with the lowest validation error (the earliest of equals), or None
    without a validation split. The test error is never looked at."""
    scored = [h for h in history if h.get("val_error") is not None]
    return min(scored, key=lambda h: h["val_error"]) if scored else None


def _inference_meta(cfg: Config, data: RunData) -> dict[str, Any]:
    """What predict and eval need to rebuild the model and its data (model.json, and the final
    weights' metadata). Written when the run starts, so its checkpoints can be evaluated."""
    root = cfg.data.root
    return {
        "model": cfg.model.name,
        "model_kwargs": model_kwargs(cfg),
        "num_classes": data.num_classes,
        **data.inputs.as_meta(),  # image size, resize rule, mean/std, channels, classes
        "data": cfg.data.name,
        "root": str(Path(root).expanduser().resolve()) if root else None,
        "val_size": cfg.data.val_size,
        "split_seed": cfg.data.split_seed,
        "seed": cfg.train.seed,
    }


def _best_file_step(path: Path) -> tuple[int | None, float | None]:
    """(step, val_error) that best.safetensors's metadata names; (None, None) without one."""
    if not path.is_file():
        return None, None
    try:
        meta = models.read_metadata(path)
    except ReslabError:  # a half-written or foreign file describes nothing
        return -1, None
    return meta.get("step", -1), meta.get("val_error")


def _checkpoint_at(
    step: int | None, ckpt: dict[str, Any], path: Path, ckpts: CheckpointManager
) -> tuple[dict[str, Any], Path] | None:
    """The checkpoint of ``step``: ``ckpt`` (at ``path``) itself, or a kept one, or None."""
    if step is None:
        return None
    if ckpt.get("step") == step:
        return ckpt, path
    for other in ckpts.paths():
        if other.name == f"step_{step:08d}.pt":
            try:
                return load_checkpoint(other), other
            except CheckpointError:
                return None
    return None


def _bad_step_cause(locally_bad: bool, xs: list[torch.Tensor]) -> str:
    if not locally_bad:
        return "another process's batch"
    return "the input batch" if any(not torch.isfinite(x).all() for x in xs) else "the loss"


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


def _describe(
    cfg: Config,
    data: RunData,
    info: distributed.DistInfo,
    run_dir: Path,
    device: torch.device,
    lr: float,
) -> None:
    per_rank = cfg.data.batch_size // info.world_size
    scale = f" over {info.world_size} processes ({per_rank} each)" if info.enabled else ""
    if cfg.train.accumulate > 1:
        scale += f" in {cfg.train.accumulate} micro-batches of {per_rank // cfg.train.accumulate}"
    if cfg.optim.scale_lr_with_batch is not None:
        scaled = (
            f"{lr:g} ({cfg.optim.lr:g} x {cfg.data.batch_size}/{cfg.optim.scale_lr_with_batch})"
        )
    else:
        scaled = f"{lr:g}"
    hint = ""
    if device.type == "cuda" and cfg.train.precision == "fp32" and torch.cuda.is_bf16_supported():
        hint = " (fp32, as the paper; this GPU runs bf16 faster: train.precision=bf16)"
    print(
        f"run {run_dir}: {cfg.model.name} on {cfg.data.name} ({data.train_size} train images"
        f"{_input_words(data)}), "
        f"global batch {cfg.data.batch_size}{scale}, lr {scaled} (for the global batch), "
        f"{cfg.train.iterations} iterations{hint}",
        flush=True,
    )
