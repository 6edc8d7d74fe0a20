"""Checkpoints that survive a crash.

Each checkpoint holds everything a bit-exact resume needs (model, optimizer, scaler, EMA, step,
data position, every RNG state) as tensors and plain Python values only, so
``torch.load(weights_only=True)`` reads it. Writes are atomic (temp file, fsync, os.replace);
the last K are kept; loading verifies the newest and falls back to an older one if it is
corrupt.
"""

from __future__ import annotations

import contextlib
import errno
import pickle
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
_GLOBAL = re.compile(r"unsupported GLOBAL (\S+?)\.?\s")  # torch's weights_only refusal
_TEMP = re.compile(r"^\.step_\d{8}\.pt\..*\.tmp$")  # atomic_open's temp files
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
        """Write ``step_XXXXXXXX.pt`` atomically, then drop all but the newest ``keep``.

        A failed write (disk full, say) leaves the older checkpoints as they were and no temp
        file behind, and raises CheckpointError saying so.
        """
        path = self.directory / f"step_{step:08d}.pt"
        state = {**state, "format_version": FORMAT_VERSION, "step": step}
        try:
            with atomic_open(path, "wb") as f:
                torch.save(state, f)
        except OSError as e:
            raise CheckpointError(self._write_failure(path, e)) from None
        for old in self.paths()[: -self.keep]:
            with contextlib.suppress(FileNotFoundError):
                old.unlink()
        return path

    def remove_stale_temp_files(self) -> list[Path]:
        """Delete half-written temp files that a killed process left; return their paths.

        Call it only where no other process is saving into this directory (at the start of a
        run, on the process that writes checkpoints).
        """
        if not self.directory.is_dir():
            return []
        stale = [p for p in self.directory.iterdir() if _TEMP.match(p.name)]
        for p in stale:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        return stale

    def _write_failure(self, path: Path, e: OSError) -> str:
        older = [p for p in self.paths() if p != path]
        kept = (
            f"the previous checkpoint {older[-1].name} is intact"
            if older
            else "no earlier checkpoint exists"
        )
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            return (
                f"cannot save checkpoint {path}: the disk is full; {kept}. Free some space, "
                "then continue with --resume auto"
            )
        reason = e.strerror or str(e) or type(e).__name__
        return f"cannot save checkpoint {path} ({reason}); {kept}"

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
        with warnings.catch_warnings():  # torch's note on the pickle protocol is noise here
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        refused = _GLOBAL.search(str(e))
        if refused:  # weights_only stopped before importing it: nothing ran
            raise CheckpointError(
                f"refusing to load checkpoint {path}: it asks to run {refused.group(1)}, and "
                "a checkpoint must hold only tensors and plain values; resume only from "
                "checkpoints reslab wrote"
            ) from None
        raise CheckpointError(
            f"checkpoint {path} is corrupt or unreadable (bad pickle data)"
        ) from None
    except Exception as e:  # truncated zip, bad pickle, ... all mean the same to a user
        msg = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"checkpoint {path} is corrupt or unreadable ({msg})") from None
    required = ("format_version", "step", "model", "optimizer")
    if (
        not isinstance(state, dict)
        or any(k not in state for k in required)
        or not isinstance(state["model"], dict)
        or not all(isinstance(v, torch.Tensor) for v in state["model"].values())
    ):
        raise CheckpointError(
            f"checkpoint {path} is incomplete (it needs {', '.join(required)}, "
            "with the model as a mapping of tensors)"
        )
    bad = [
        k
        for k, v in state["model"].items()
        if torch.is_floating_point(v) and not torch.isfinite(v).all()
    ]
    if bad:
        raise CheckpointError(f"checkpoint {path} holds non-finite weights ({bad[0]})")
    return state
