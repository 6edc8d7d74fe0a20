"""One process at a time per directory: an exclusive claim that dies with its process.

A claim is an ``fcntl.flock`` on a lock file. The kernel drops it when the process ends, even
on SIGKILL, so a crash never leaves a stale claim behind. The lock file holds the holder's pid
and start time, only to name it when a second process is refused. A released claim removes its
lock file; one left by a killed process is harmless, since only the flock counts.

Claims are re-entrant within a process: a study that claims its output directory and then
trains runs inside it works, and so does a second claim of a directory this process holds.
A forked child (a DataLoader worker) closes its copy of every held lock at once, so that the
claim still dies with the process that took it. A process may also pass its claim down to the
processes it starts (`reslab train --nproc N` holds the run directory for torchrun's workers):
:func:`inherited_env` names the claim, and a descendant claiming it goes ahead without a lock.

On a filesystem without file locks (some network mounts: ENOLCK), a claim falls back to
creating the lock file atomically (``os.link``), with the holder's pid and host inside; a lock
file whose pid is gone from this machine is taken over. That is weaker than a flock: a process
killed on another machine leaves its lock file behind (delete it by hand). NFS mounted with
``local_lock=flock`` keeps flocks local to each machine, so a run directory there is protected
against processes on the same machine only.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from reslab.errors import ReslabError

LOCK_NAME = ".lock"
"""The lock file inside a claimed directory."""

INHERITED_ENV = "RESLAB_CLAIM"
"""Names a claim held for this process by an ancestor: ``PID:LOCK_PATH``."""
_NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS)
_BY_LINK = -1
"""The fd recorded for a claim held by an atomically created lock file (no flock)."""

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
def claim_output(directory: Path | str, what: str = "study") -> Iterator[Path]:
    """:func:`claim` for a folder of results (a study, the demo): if the work inside fails and
    this call created the folder, the empty folders it leaves behind are removed with it."""
    directory = Path(directory)
    created = not directory.exists()
    failed = False
    try:
        with claim(directory, what):
            try:
                yield directory
            except BaseException:
                failed = True
                if created:  # only while holding it: never tidy another process's folder
                    for folder in sorted(directory.rglob("*"), key=lambda p: -len(p.parts)):
                        with contextlib.suppress(OSError):
                            folder.rmdir()  # only empty ones: files are kept
                raise
    finally:
        if failed and created:
            with contextlib.suppress(OSError):
                directory.rmdir()  # now that the claim's lock file is gone


@contextlib.contextmanager
def claim_file(path: Path | str, what: str = "export") -> Iterator[Path]:
    """Hold the file ``path`` (which need not exist) exclusively, as :func:`claim` does for a
    directory. The lock file is ``.NAME.lock`` beside it, removed again on release."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _hold(path.parent / f".{path.name}.lock", path, what):
        yield path


def inherited_env(directory: Path | str) -> dict[str, str]:
    """Environment for processes this one starts, telling them that this process holds the
    claim of ``directory`` for them (they must be its descendants)."""
    lock = os.path.realpath(Path(directory) / LOCK_NAME)
    return {INHERITED_ENV: f"{os.getpid()}:{lock}"}


def _inherited(lock_path: Path) -> bool:
    """Whether an ancestor of this process holds ``lock_path`` for it (:func:`inherited_env`)."""
    pid, _, path = os.environ.get(INHERITED_ENV, "").partition(":")
    if not pid.isdigit() or path != os.path.realpath(lock_path):
        return False
    import psutil

    try:
        return int(pid) in {p.pid for p in psutil.Process().parents()}
    except psutil.Error:
        return False


@contextlib.contextmanager
def _hold(lock_path: Path, shown: Path, what: str) -> Iterator[None]:
    if _inherited(lock_path):
        yield  # held for this process by the ancestor that started it
        return
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


def _forget_in_child() -> None:
    """After a fork: close the child's copies of the parent's locks (a DataLoader worker that
    outlives a SIGKILLed parent must not keep its run directory claimed)."""
    global _held_lock
    _held_lock = threading.Lock()  # another thread may have held it at the fork
    for key, held in list(_held.items()):
        if key[0] != os.getpid():
            if held.fd != _BY_LINK:
                with contextlib.suppress(OSError):
                    os.close(held.fd)
            del _held[key]


os.register_at_fork(after_in_child=_forget_in_child)


def _record(what: str) -> bytes:
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "what": what,
    }
    return (json.dumps(record) + "\n").encode()


def _in_use(shown: Path, record: dict | None, what: str) -> ClaimError:
    return ClaimError(
        f"{shown} is in use by another reslab process ({_describe(record)}): wait for it to "
        f"finish, or {_NEXT_STEP.get(what, 'choose another name')}"
    )


def _acquire(lock_path: Path, shown: Path, what: str) -> int:
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:  # a run that failed at start removed its folder just now
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            continue
        except OSError as e:
            raise _cannot(shown, e) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            record = _holder_record(fd)
            os.close(fd)
            raise _in_use(shown, record, what) from None
        except OSError as e:
            os.close(fd)
            if e.errno in _NO_LOCKS:
                return _acquire_by_link(lock_path, shown, what)
            raise _cannot(shown, e) from None
        if _same_file(fd, lock_path):
            break
        os.close(fd)  # released and removed by its holder between our open and flock: retry
    os.ftruncate(fd, 0)
    os.pwrite(fd, _record(what), 0)
    return fd


def _cannot(shown: Path, e: OSError) -> ClaimError:
    return ClaimError(
        f"{shown} cannot be claimed ({e.strerror or e}): check that its filesystem is "
        "writable, or choose another place (out_dir=... / --out)"
    )


_warned_no_locks: set[str] = set()


def _acquire_by_link(lock_path: Path, shown: Path, what: str) -> int:
    """The claim on a filesystem without flock: the lock file, with our record in it, is
    created atomically (written aside, then hard-linked into place)."""
    folder = str(lock_path.parent)
    if folder not in _warned_no_locks:
        _warned_no_locks.add(folder)
        print(
            f"warning: {folder} is on a filesystem without file locks; claiming it with a lock "
            f"file instead (a process killed on another machine leaves {lock_path} behind: "
            "delete it once that process is gone)",
            file=sys.stderr,
            flush=True,
        )
    with contextlib.suppress(OSError):
        if os.stat(lock_path).st_size == 0:
            os.unlink(lock_path)  # left empty by a failed flock attempt: not a holder's
    aside = lock_path.with_name(f"{lock_path.name}.{os.getpid()}")
    try:
        aside.write_bytes(_record(what))
        for _ in range(5):
            try:
                os.link(aside, lock_path)
                return _BY_LINK
            except FileExistsError:
                record = _read_record_file(lock_path)
                if record is not None:
                    raise _in_use(shown, record, what) from None
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(lock_path)  # its holder is gone from this machine: take over
        raise _in_use(shown, None, what)
    except OSError as e:
        raise _cannot(shown, e) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(aside)


def _read_record_file(path: Path) -> dict | None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        return _read_record(fd)
    finally:
        os.close(fd)


def _release(lock_path: Path, fd: int) -> None:
    if fd == _BY_LINK:
        record = _read_record_file(lock_path)
        if record is not None and record.get("pid") == os.getpid():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock_path)
        return
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


def _holder_record(fd: int) -> dict | None:
    """The record of the process holding the flock on ``fd``, waiting briefly for it."""
    deadline = time.monotonic() + RECORD_WAIT_S
    while True:
        record = _read_record(fd)
        if record is not None or time.monotonic() >= deadline:
            return record
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
