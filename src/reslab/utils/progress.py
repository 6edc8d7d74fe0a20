"""Progress reporting: a live rich bar on a terminal, plain periodic log lines elsewhere (CI)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")


def is_interactive() -> bool:
    return sys.stdout.isatty()


class ProgressBar:
    """A progress bar over ``total`` units with a free-text status (loss, error, lr, img/s).

    On a terminal it is a rich live bar; otherwise it prints one line at most every
    ``log_every_s`` seconds, plus the final line, so logs stay short but show life.
    """

    def __init__(
        self,
        total: int | None,
        description: str,
        *,
        log_every_s: float = 10.0,
        enabled: bool = True,
        start: int = 0,
    ) -> None:
        self.total = total
        self.description = description
        self.enabled = enabled
        self.log_every_s = log_every_s
        self.completed = start
        self._start_completed = start  # a resumed run starts part-way: the ETA counts from here
        self.status = ""
        self._interactive = enabled and is_interactive()
        self._last_log = 0.0
        self._last_logged: tuple[int, str] | None = None  # (completed, status) of the last line
        self._start = time.perf_counter()
        self._progress: Progress | None = None
        if self._interactive:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"),
                console=Console(),
                transient=False,
            )
            self._task = self._progress.add_task(
                description, total=total, completed=start, status=""
            )
            self._progress.start()

    def update(self, advance: int = 1, status: str | None = None) -> None:
        self.completed += advance
        if status is not None:
            self.status = status
        if not self.enabled:
            return
        if self._progress is not None:
            self._progress.update(self._task, advance=advance, status=self.status)
            return
        now = time.perf_counter()
        if now - self._last_log >= self.log_every_s:
            self._last_log = now
            self._log_line()

    def advance_to(self, completed: int, status: str | None = None) -> None:
        """Move to ``completed`` units (never past the total)."""
        if self.total is not None:
            completed = min(completed, self.total)
        self.update(completed - self.completed, status)

    def say(self, text: str) -> None:
        """A line of its own (an evaluation's result), above the live bar on a terminal."""
        if not self.enabled:
            return
        if self._progress is not None:
            self._progress.console.print(text, highlight=False, markup=False)
        else:
            print(text, flush=True)

    def eta_s(self) -> float | None:
        """Seconds left at the rate seen so far in this process, or None before any progress."""
        done = self.completed - self._start_completed
        if not self.total or done <= 0:
            return None
        rate = done / max(1e-9, time.perf_counter() - self._start)
        return max(0.0, (self.total - self.completed) / rate)

    def _log_line(self) -> None:
        total = f"/{self.total}" if self.total else ""
        elapsed = time.perf_counter() - self._start
        eta = self.eta_s()
        left = (
            f", {_clock(eta)} left"
            if eta is not None and self.completed < (self.total or 0)
            else ""
        )
        print(
            f"{self.description}: {self.completed}{total} [{_clock(elapsed)}{left}] {self.status}",
            flush=True,
        )
        self._last_logged = (self.completed, self.status)

    def close(self) -> None:
        if not self.enabled:
            return
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        elif self._last_logged != (self.completed, self.status):  # the final state, once
            self._log_line()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track(
    items: Iterable[T], total: int | None, description: str, enabled: bool = True
) -> Iterator[T]:
    """Iterate ``items`` while showing progress."""
    with ProgressBar(total, description, enabled=enabled) as bar:
        for item in items:
            yield item
            bar.update()


def _clock(seconds: float) -> str:
    """12s, 3m04s, 1h02m."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"
