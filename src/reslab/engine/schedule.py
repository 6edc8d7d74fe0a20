"""The learning-rate schedule of a run: one object answers "what is the rate now", both warm-ups
included, and its one piece of state is saved with the run's checkpoints."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from reslab.engine.config import ScheduleConfig


def lr_at(step: int, total: int, base_lr: float, cfg: ScheduleConfig) -> float:
    """The rate for optimizer step ``step`` (0-based) of a ``total``-step run, leaving out the
    constant warm-up (which ends on a training-error threshold, see :class:`Schedule`).

    A pure function of the step: a resumed run gets the rates of an uninterrupted one.
    """
    if cfg.warmup_iters and step < cfg.warmup_iters:
        start = cfg.warmup_start
        return base_lr * (start + (1 - start) * (step + 1) / cfg.warmup_iters)
    if cfg.name == "constant":
        return base_lr
    if cfg.name == "multistep":
        return base_lr * cfg.gamma ** sum(step >= m for m in milestone_steps(total, cfg))
    start = cfg.warmup_iters
    progress = min(1.0, (step - start) / max(1, total - start))
    if cfg.name == "cosine":
        return base_lr * 0.5 * (1 + math.cos(math.pi * progress))
    # one-cycle: up for the first 30%, then cosine down to ~0.
    peak = 0.3
    if progress < peak:
        return base_lr * (0.04 + 0.96 * progress / peak)
    return base_lr * 0.5 * (1 + math.cos(math.pi * (progress - peak) / (1 - peak)))


def milestone_steps(total: int, cfg: ScheduleConfig) -> list[int]:
    """The steps at which a multistep schedule divides the rate (milestones are fractions)."""
    return [round(m * total) for m in cfg.milestones]


class Schedule:
    """The rate at each step of one run.

    Two warm-ups: a linear one over ``warmup_iters`` (part of :func:`lr_at`), and the paper's
    constant one (``warmup_lr`` until the running training error falls below
    ``warmup_until_train_error``, or ``warmup_max_iters`` pass). The second depends on the
    run's history, so whether it is over is this object's state.
    """

    def __init__(self, cfg: ScheduleConfig, base_lr: float, total: int) -> None:
        self.cfg = cfg
        self.base_lr = base_lr
        self.total = total
        self.warmup_done = cfg.warmup_lr is None

    def lr(self, step: int) -> float:
        """The rate for optimizer step ``step`` (0-based)."""
        if not self.warmup_done:
            return float(self.cfg.warmup_lr)  # type: ignore[arg-type]
        return lr_at(step, self.total, self.base_lr, self.cfg)

    def observe(self, step: int, train_error: Callable[[], float]) -> float | None:
        """After step ``step``: end the constant warm-up if its condition holds. Returns the
        running training error (%) at which it ended, else None. ``train_error`` is called
        only every 20 steps (it synchronises the device)."""
        if self.warmup_done or (step % 20 and step < self.cfg.warmup_max_iters):
            return None
        err = train_error()
        threshold = self.cfg.warmup_until_train_error
        if step >= self.cfg.warmup_max_iters or (threshold is not None and err < threshold):
            self.warmup_done = True
            return err
        return None

    def warnings(self) -> list[str]:
        """What in this schedule would not do what its config seems to ask."""
        out = []
        if self.cfg.name == "multistep":
            for m, at in zip(self.cfg.milestones, milestone_steps(self.total, self.cfg)):
                if at >= self.total:
                    out.append(
                        f"schedule.milestones: {m:g} of {self.total} iterations is step {at}, "
                        "at or past the end of the run, so the rate never drops there"
                    )
        if self.cfg.warmup_iters >= self.total:
            out.append(
                f"schedule.warmup_iters={self.cfg.warmup_iters} is not shorter than the run "
                f"({self.total} iterations)"
            )
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"warmup_done": self.warmup_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.warmup_done = bool(state["warmup_done"])
