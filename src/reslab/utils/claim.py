"""One process at a time per directory: an exclusive claim that dies with its process.

A claim is an ``fcntl.flock`` on a lock file. The kernel drops it when the process ends, even
on SIGKILL, so a crash never leaves a stale claim behind. The lock file holds the holder's pid
and start time, only to name it when a second process is refused. A released claim removes its
lock file; one left by a killed process is harmless, since only the flock counts.

Claims are re-entrant within a process: a study that claims its output directory and then
trains runs inside it works, and so does a second claim of a directory this process holds.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from reslab.errors import ReslabError

LOCK_NAME = ".lock"
"""The lock file inside a claimed directory."""

_NEXT_STEP = {
    "run": "choose another name (name=...)",
    "study": "choose another output directory (--out)",
    "export": "choose another output path",
}


class ClaimError(ReslabError):
    """A directory or file is in use by another reslab process."""


@dataclass
class _Held:
    fd: int
    depth: int


_held: dict[tuple[int, str], _Held] = {}  # (pid, lock path) -> this process's claim
_held_lock = threading.Lock()


@contextlib.contextmanager
def claim(directory: Path | str, what: str = "run") -> Iterator[Path]:
    """Create ``directory`` if needed and hold it exclusively for the life of the context.

    Raises ClaimError (one line naming the holder's pid) if another live process holds it.
    ``what`` ("run", "study", "export") shapes what the message suggests doing instead.
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ClaimError(
            f"{directory} exists and is not a directory: choose another name"
        ) from None
    with _hold(directory / LOCK_NAME, directory, what):
        yield directory


@contextlib.contextmanager
def claim_file(path: Path | str, what: str = "export") -> Iterator[Path]:
    """Hold the file ``path`` (which need not exist) exclusively, as :func:`claim` does for a
    directory. The lock file is ``.NAME.lock`` beside it, removed again on release."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _hold(path.parent / f".{path.name}.lock", path, what):
        yield path


@contextlib.contextmanager
def _hold(lock_path: Path, shown: Path, what: str) -> Iterator[None]:
    key = (os.getpid(), os.path.realpath(lock_path))  # a forked child holds nothing itself
    with _held_lock:
        mine = _held.get(key)
        if mine is not None:
            mine.depth += 1
        else:
            _held[key] = mine = _Held(_acquire(lock_path, shown, what), depth=1)
    try:
        yield
    finally:
        with _held_lock:
            mine.depth -= 1
            if mine.depth == 0:
                del _held[key]
                _release(lock_path, mine.fd)


def _acquire(lock_path: Path, shown: Path, what: str) -> int:
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = _describe_holder(fd)
            os.close(fd)
            raise ClaimError(
                f"{shown} is in use by another reslab process ({who}): wait for it to "
                f"finish, or {_NEXT_STEP.get(what, 'choose another name')}"
            ) from None
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                raise ClaimError(
                    f"{shown} cannot be claimed: its filesystem does not support file locks "
                    f"({e.strerror}); put it on a local disk"
                ) from None
            raise
        if _same_file(fd, lock_path):
            break
        os.close(fd)  # released and removed by its holder between our open and flock: retry
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "what": what,
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
    return fd


def _release(lock_path: Path, fd: int) -> None:
    try:
        if _same_file(fd, lock_path):  # still ours (not removed with a discarded directory)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock_path)
    finally:
        os.close(fd)  # drops the flock


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)


RECORD_WAIT_S = 2.0
"""How long a refused process waits for the holder to write its record. The holder writes it
right after its flock succeeds, so this is only ever waited for out on a loaded machine."""


def _describe_holder(fd: int) -> str:
    """Name the process holding the flock on ``fd``, waiting briefly for its record."""
    deadline = time.monotonic() + RECORD_WAIT_S
    while True:
        record = _read_record(fd)
        if record is not None or time.monotonic() >= deadline:
            return _describe(record)
        time.sleep(0.02)


def _read_record(fd: int) -> dict | None:
    try:
        record = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):  # empty, or caught half-written
        return None
    if not isinstance(record, dict) or "pid" not in record:
        return None
    here = socket.gethostname()
    if record.get("host", here) == here and not _alive(record["pid"]):
        return None  # left by a killed holder; the new one has not overwritten it yet
    return record


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _describe(record: dict | None) -> str:
    if record is None:
        return "pid unknown, just started"
    where = ""
    if record.get("host") not in (None, socket.gethostname()):
        where = f" on {record['host']}"
    return f"pid {record['pid']}{where}, started {record.get('started', 'at an unknown time')}"
