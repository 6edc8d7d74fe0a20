"""Where metrics go: metrics.jsonl (always), TensorBoard (optional), a progress bar."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


class MetricsLogger:
    """Appends one JSON object per line to metrics.jsonl and mirrors scalars to TensorBoard.

    Only the main process writes. On resume, lines past the resumed step are dropped so the
    file reads as one uninterrupted run.
    """

    def __init__(
        self, run_dir: Path, *, enabled: bool, tensorboard: bool, resume_step: int | None = None
    ) -> None:
        self.enabled = enabled
        self.path = Path(run_dir) / "metrics.jsonl"
        self._tb = None
        if not enabled:
            return
        if resume_step is not None and self.path.exists():
            kept = [
                line
                for line in self.path.read_text().splitlines()
                if line.strip() and _step_of(line) <= resume_step
            ]
            self.path.write_text("".join(line + "\n" for line in kept))
        elif resume_step is None and self.path.exists():
            self.path.unlink()
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                # TensorBoard hides an earlier attempt's events from purge_step on: the
                # abandoned steps of a resume, or all of a restart from step 0
                purge = 0 if resume_step is None else resume_step + 1
                self._tb = SummaryWriter(
                    log_dir=str(Path(run_dir) / "tensorboard"), purge_step=purge
                )
            except ImportError:  # pragma: no cover - tensorboard is a dependency
                self._tb = None

    def log(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        clean = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in record.items()
        }
        with open(self.path, "a") as f:
            f.write(json.dumps(clean) + "\n")
        if self._tb is not None:
            step = int(record.get("step", 0))
            for k, v in record.items():
                if (
                    k not in ("step", "epoch", "kind")
                    and isinstance(v, (int, float))
                    and v is not None
                ):
                    self._tb.add_scalar(f"{record.get('kind', 'train')}/{k}", v, step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.flush()
            self._tb.close()
            self._tb = None


def _step_of(line: str) -> int:
    try:
        return int(json.loads(line).get("step", 0))
    except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
        return 1 << 62  # a torn last line from a crash: drop it


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out
