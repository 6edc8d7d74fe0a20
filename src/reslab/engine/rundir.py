"""A run's directory: choosing it, claiming it, and what a resume continues from.

A run directory belongs to one process at a time: :func:`open_run_dir` claims it
(:mod:`reslab.utils.claim`) before it reads or writes anything there, and holds the claim for
the life of the run. A resume continues the run that was started: a command whose config
differs from the run's own is refused, naming the keys, before anything is written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from reslab.engine import distributed
from reslab.engine.checkpoint import CheckpointManager, load_checkpoint
from reslab.engine.config import Config, config_diff, dump_config, flatten, load_config
from reslab.errors import CheckpointError, ConfigError
from reslab.utils.claim import LOCK_NAME, ClaimError, claim, inherited_env
from reslab.utils.io import atomic_open

CREATED_ENV = "RESLAB_RUN_CREATED"
"""Set by :func:`claim_for_workers` to the run directory it created for the workers."""

RESUME_HOW = "--resume auto, or resume='auto' in Python"
"""How to ask for a resume, worded for the command line and the Python API alike."""

_DISPOSABLE = {
    "config.yaml",
    "model.json",
    "metrics.jsonl",
    "tensorboard",
    "checkpoints",
    "train.log",  # a study's worker logs each net's output there
    LOCK_NAME,
}
"""What a run that failed before its first checkpoint may hold and still be discarded."""


@dataclass
class RunDir:
    """A claimed run directory and what to train in it."""

    path: Path
    config: Config
    """The config to train: the command's, which equals the run's own on a resume (its
    name and out_dir point at ``path``)."""
    checkpoint: tuple[dict[str, Any], Path] | None
    """The checkpoint state to resume from and its file, or None for a fresh start."""
    created: bool
    """Whether this process created the directory (only then may it be discarded)."""

    def discard(self) -> bool:
        """Remove the directory if this process created it and it holds no work yet (no
        checkpoint, no final weights, no metrics line). Returns whether it was removed."""
        if not self.created or not _holds_no_work(self.path):
            return False
        for entry in self.path.iterdir():
            if entry.name == LOCK_NAME:
                continue  # removed by the claim's release, which must find it
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
        return True


@contextlib.contextmanager
def open_run_dir(
    cfg: Config,
    resume: str | None,
    device: torch.device,
    info: distributed.DistInfo | None = None,
) -> Iterator[RunDir]:
    """Claim the run directory for the life of the context, then pick the checkpoint to resume
    from and (for a new run) save config.yaml.

    ``resume``: None for a new run, "auto" to continue this config's run if it has a
    checkpoint, or a run directory / checkpoint file. Under torchrun only process 0 claims;
    the others wait until it has. If the body fails in a directory this process created
    before anything worth keeping was written, the directory is removed.
    """
    info = info or distributed.DistInfo()
    if resume is None and distributed.restart_count() > 0:
        resume = "auto"  # torchrun relaunched the job after a failure: continue it
    path, checkpoint_file = _locate(cfg, resume)
    created = not path.exists() or os.environ.get(CREATED_ENV) == os.path.realpath(path)
    new_parents = [p for p in path.parents if not p.exists()]  # runs/ of a first run, ...
    discarded = False
    try:
        with contextlib.ExitStack() as stack:
            failure: ClaimError | None = None
            if info.is_main:
                try:
                    stack.enter_context(claim(path, "run"))
                except ClaimError as e:
                    failure = e
            if distributed.broadcast_flag(failure is not None, info, device):
                raise failure or ClaimError(
                    f"{path} is in use by another reslab process (see process 0's error)"
                )
            run = RunDir(path, _located_config(cfg, path), None, created)
            try:
                run.checkpoint = _checkpoint(run, resume, checkpoint_file, device)
                if run.checkpoint is None and info.is_main:
                    _write_config(run.config, path)
                yield run
            except BaseException:
                discarded = info.is_main and run.discard()
                raise
    finally:
        if discarded:  # the claim is released now, and its lock file gone
            with contextlib.suppress(OSError):  # each only if empty, nearest first
                for folder in (path, *new_parents):
                    folder.rmdir()


@contextlib.contextmanager
def claim_for_workers(cfg: Config, resume: str | None) -> Iterator[dict[str, str]]:
    """Hold the run directory for the processes a launcher starts (`reslab train --nproc N`:
    torchrun and its workers), so that of two jobs started at once under one name the second
    is refused here, in one line, before any worker starts. Yields the environment that tells
    the workers the claim is theirs; an empty directory the job leaves behind is removed."""
    path, _ = _locate(cfg, resume)
    created = not path.exists()
    try:
        with claim(path, "run"):
            yield {**inherited_env(path), CREATED_ENV: os.path.realpath(path) if created else ""}
    finally:
        if created:
            with contextlib.suppress(OSError):
                path.rmdir()  # only if empty: the job failed at start and discarded its files


def _locate(cfg: Config, resume: str | None) -> tuple[Path, Path | None]:
    """The run directory, and the checkpoint file if ``resume`` names one."""
    if resume is None or resume == "auto":
        return cfg.run_dir, None
    given = Path(resume)
    if given.is_file():
        return given.parent.parent, given
    if not given.is_dir():
        raise CheckpointError(f"{given} does not exist: give a run directory or a checkpoint")
    return given, None


def _located_config(cfg: Config, path: Path) -> Config:
    if cfg.run_dir == path:
        return cfg
    return dataclasses.replace(cfg, name=path.name, out_dir=str(path.parent))


def _checkpoint(
    run: RunDir, resume: str | None, checkpoint_file: Path | None, device: torch.device
) -> tuple[dict[str, Any], Path] | None:
    """What to resume from (None: start fresh), after checking that the run is this one."""
    path = run.path
    if resume is None:
        if CheckpointManager(path / "checkpoints").paths() or (path / "final.safetensors").exists():
            raise ConfigError(
                f"{path} already holds a run: continue it ({RESUME_HOW}), "
                "or choose another name (name=...)"
            )
        return None
    if checkpoint_file is not None:
        found = (load_checkpoint(checkpoint_file, device), checkpoint_file)
    else:
        found = CheckpointManager(path / "checkpoints").load_latest(device)
    if found is None:
        if resume != "auto":
            raise CheckpointError(
                f"{path} holds no checkpoint to resume from: start it again with "
                f"`reslab train {path / 'config.yaml'}`"
            )
        return None  # nothing to resume: start fresh
    _check_same_run(run.config, _saved_config(path, found[0]), path)
    return found


def _saved_config(run_dir: Path, state: dict[str, Any]) -> dict[str, Any] | None:
    """The config the run was trained with: the checkpoint's, else its config.yaml."""
    saved = state.get("config")
    if not isinstance(saved, dict):
        try:
            saved = yaml.safe_load((run_dir / "config.yaml").read_text())
        except (OSError, yaml.YAMLError):
            return None
    if not isinstance(saved, dict):
        return None
    try:  # through today's defaults and coercion, as the command's config (keys added since)
        return load_config(saved).to_dict()
    except ConfigError as e:
        raise ConfigError(
            f"{run_dir} was started by an earlier reslab whose config no longer loads ({e}): "
            "start a new run (another name) with today's recipe"
        ) from None


def _check_same_run(cfg: Config, saved: dict[str, Any] | None, run_dir: Path) -> None:
    if saved is None:
        return  # a checkpoint from before configs were saved: nothing to compare with
    own = run_dir / "config.yaml"
    how = (
        f"resume it with its own config (reslab train {own} --resume auto, or "
        f"reslab.train({str(own)!r}, resume='auto') in Python) or choose another name (name=...)"
    )
    differing = config_diff(saved, cfg)
    if not differing:
        return
    ours = flatten(cfg.to_dict())
    theirs = flatten(saved)
    shown = differing[:3]
    more = f" (and {len(differing) - 3} more)" if len(differing) > 3 else ""
    was = ", ".join(
        f"{k}={_show(theirs.get(k))} (this command: {_show(ours.get(k))})" for k in shown
    )
    raise ConfigError(f"{run_dir} was started with {was}{more}: {how}")


def _show(value: Any) -> str:
    return "(unset)" if value is None else str(value)


# ----------------------------------------------------------------------------- writing
def _write_config(cfg: Config, run_dir: Path) -> None:
    with atomic_open(run_dir / "config.yaml", "w") as f:
        f.write(dump_config(cfg))


def _holds_no_work(run_dir: Path) -> bool:
    try:
        entries = list(run_dir.iterdir())
    except FileNotFoundError:
        return False
    for entry in entries:
        if entry.name not in _DISPOSABLE:
            return False
    if CheckpointManager(run_dir / "checkpoints").paths():
        return False
    metrics = run_dir / "metrics.jsonl"
    return not (metrics.exists() and metrics.read_text().strip())
