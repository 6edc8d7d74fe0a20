"""Checkpoints that survive a crash.

Each checkpoint holds everything a bit-exact resume needs (model, optimizer, scaler, EMA, step,
data position, every RNG state) as tensors and plain Python values only, so
``torch.load(weights_only=True)`` reads it. Writes are atomic (temp file, fsync, os.replace);
the last K are kept; loading verifies the newest and falls back to an older one if it is
corrupt.
"""

from __future__ import annotations

import contextlib
import random
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reslab.errors import CheckpointError
from reslab.utils.io import atomic_open

_NAME = re.compile(r"^step_(\d{8})\.pt$")
FORMAT_VERSION = 1


def rng_state() -> dict[str, Any]:
    """Every RNG state as tensors/ints (no pickled numpy objects)."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": {
            "version": py_state[0],
            "state": torch.tensor(py_state[1], dtype=torch.int64),
            "gauss": py_state[2],
        },
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            n["keys"].numpy().astype(np.uint32),
            n["pos"],
            n["has_gauss"],
            n["cached_gaussian"],
        )
    )
    p = state["python"]
    random.setstate((p["version"], tuple(int(x) for x in p["state"].tolist()), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        with contextlib.suppress(RuntimeError):  # a different GPU count: keep the new seeds
            torch.cuda.set_rng_state_all(state["cuda"])


@dataclass
class CheckpointManager:
    """Saves ``step_XXXXXXXX.pt`` files in ``directory`` and keeps the newest ``keep``."""

    directory: Path
    keep: int = 3

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)

    def paths(self) -> list[Path]:
        """Checkpoint files, oldest first."""
        if not self.directory.is_dir():
            return []
        found = [p for p in self.directory.iterdir() if _NAME.match(p.name)]
        return sorted(found, key=lambda p: int(_NAME.match(p.name).group(1)))

    def save(self, state: dict[str, Any], step: int) -> Path:
        path = self.directory / f"step_{step:08d}.pt"
        state = {**state, "format_version": FORMAT_VERSION, "step": step}
        with atomic_open(path, "wb") as f:
            torch.save(state, f)
        for old in self.paths()[: -self.keep]:
            with contextlib.suppress(FileNotFoundError):
                old.unlink()
        return path

    def load_latest(self, map_location: str | torch.device = "cpu") -> tuple[dict, Path] | None:
        """The newest checkpoint that loads and verifies; None if there are none at all."""
        paths = self.paths()
        if not paths:
            return None
        for path in reversed(paths):
            try:
                return load_checkpoint(path, map_location), path
            except CheckpointError as e:
                warnings.warn(f"{e}; falling back to an older checkpoint", stacklevel=2)
        raise CheckpointError(
            f"no valid checkpoint in {self.directory}: all {len(paths)} are "
            "corrupt; start a new run or restore a backup"
        )


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load and verify one checkpoint with the safe loader."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated zip, bad pickle, ... all mean the same to a user
        msg = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"checkpoint {path} is corrupt or unreadable ({msg})") from None
    required = ("format_version", "step", "model", "optimizer")
    if not isinstance(state, dict) or any(k not in state for k in required):
        raise CheckpointError(f"checkpoint {path} is incomplete (it lacks {', '.join(required)})")
    bad = [
        k
        for k, v in state["model"].items()
        if torch.is_floating_point(v) and not torch.isfinite(v).all()
    ]
    if bad:
        raise CheckpointError(f"checkpoint {path} holds non-finite weights ({bad[0]})")
    return state
