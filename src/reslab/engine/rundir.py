"""A run's directory: choosing it, claiming it, and what a resume continues from."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from reslab.engine import distributed
from reslab.engine.checkpoint import CheckpointManager
from reslab.engine.config import Config, dump_config
from reslab.errors import CheckpointError, ConfigError
from reslab.utils.io import atomic_open


def prepare_run_dir(
    cfg: Config, resume: str | None, device: torch.device
) -> tuple[Path, tuple[dict, Path] | None]:
    """Pick the run directory, load the checkpoint to resume from, and save config.yaml."""
    if resume is None and distributed.restart_count() > 0:
        resume = "auto"  # torchrun relaunched the job after a failure: continue it
    if resume is None:
        run_dir = cfg.run_dir
        if (
            CheckpointManager(run_dir / "checkpoints").paths()
            or (run_dir / "final.safetensors").exists()
        ):
            raise ConfigError(
                f"{run_dir} already holds a run: continue it with --resume auto, "
                "or choose another name (name=...)"
            )
        _write_config(cfg, run_dir)
        return run_dir, None
    path = Path(resume) if resume != "auto" else cfg.run_dir
    if path.is_file():  # a checkpoint file
        from reslab.engine.checkpoint import load_checkpoint

        run_dir = path.parent.parent
        return run_dir, (load_checkpoint(path, device), path)
    run_dir = path
    found = CheckpointManager(run_dir / "checkpoints").load_latest(device)
    if found is None:
        if resume != "auto":
            raise CheckpointError(f"{run_dir} holds no checkpoint to resume from")
        _write_config(cfg, run_dir)  # nothing to resume: start fresh
        return run_dir, None
    return run_dir, found


def _write_config(cfg: Config, run_dir: Path) -> None:
    if int(os.environ.get("RANK", "0")) == 0:  # only the main process writes
        with atomic_open(run_dir / "config.yaml", "w") as f:
            f.write(dump_config(cfg))
