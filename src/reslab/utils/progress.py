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
    ) -> None:
        self.total = total
        self.description = description
        self.enabled = enabled
        self.log_every_s = log_every_s
        self.completed = 0
        self.status = ""
        self._interactive = enabled and is_interactive()
        self._last_log = 0.0
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
            self._task = self._progress.add_task(description, total=total, status="")
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

    def _log_line(self) -> None:
        total = f"/{self.total}" if self.total else ""
        elapsed = time.perf_counter() - self._start
        print(
            f"{self.description}: {self.completed}{total} [{elapsed:.0f}s] {self.status}",
            flush=True,
        )

    def close(self) -> None:
        if not self.enabled:
            return
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        else:
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
