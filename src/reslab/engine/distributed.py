"""torch.distributed helpers. DDP is detected from the environment torchrun sets."""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from reslab.errors import TrainingError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device_type: str) -> DistInfo:
    """Join the process group if torchrun started us (RANK and WORLD_SIZE set)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)
        timeout = datetime.timedelta(minutes=10)
        # torchrun keeps one store for all restarts of a job, so the addresses that the
        # previous attempt's processes published are still there; a key prefix per attempt
        # keeps a restarted process from dialling a dead one (connectFullMesh: refused).
        try:
            store, _, _ = next(dist.rendezvous("env://", rank, world, timeout=timeout))
            store = dist.PrefixStore(f"reslab/attempt_{restart_count()}", store)
            dist.init_process_group(
                backend, store=store, rank=rank, world_size=world, timeout=timeout
            )
        except (RuntimeError, ValueError) as e:
            where = f"{os.environ.get('MASTER_ADDR')}:{os.environ.get('MASTER_PORT')}"
            raise TrainingError(
                f"process {rank} of {world} cannot join the others ({first_line(e)}); check "
                f"that every node reaches {where} (torchrun's --rdzv-endpoint)"
            ) from None
    return DistInfo(rank, world, local_rank)


def teardown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    if info.enabled:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


@torch.no_grad()
def average_batchnorm_stats(model: torch.nn.Module, info: DistInfo) -> None:
    """Replace every BatchNorm layer's running mean and variance by their mean over the
    processes (timm's distribute_bn), in one all-reduce per dtype.

    DDP averages gradients, not buffers: it copies rank 0's buffers to the others before each
    forward pass, and each process then updates them from its own shard, so without this
    each shard would be evaluated by a slightly different net and rank 0 would save its own.
    SyncBatchNorm keeps them equal already.
    """
    if not info.enabled:
        return
    stats: dict[torch.dtype, list[torch.Tensor]] = {}
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._NormBase) and m.track_running_stats:
            for t in (m.running_mean, m.running_var):
                if t is not None:
                    stats.setdefault(t.dtype, []).append(t)
    for tensors in stats.values():
        flat = torch.cat([t.reshape(-1) for t in tensors])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= info.world_size
        for t, mean in zip(tensors, flat.split([t.numel() for t in tensors])):
            t.copy_(mean.view_as(t))


def broadcast_flag(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True on every rank if it is true on any rank (e.g. a stop signal seen by one)."""
    return broadcast_flags([flag], info, device)[0]


def broadcast_flags(flags: Sequence[bool], info: DistInfo, device: torch.device) -> list[bool]:
    """Each of ``flags``, true on every rank if it is true on any rank; one all-reduce."""
    if not info.enabled:
        return list(flags)
    t = torch.tensor([1.0 if flag else 0.0 for flag in flags], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [v > 0 for v in t.tolist()]


def all_equal(value: int, info: DistInfo, device: torch.device) -> bool:
    """Whether every rank holds the same ``value`` (e.g. the step it resumed from)."""
    if not info.enabled:
        return True
    t = torch.tensor([value, -value], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)  # [max, -min]
    return bool(t[0] == -t[1])


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def restart_count() -> int:
    """How many times torchrun has restarted this job (0 on its first launch)."""
    return int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") or 0)


_PEER_LOST = (
    "Connection reset by peer",
    "Connection closed by peer",
    "Broken pipe",
    "Connection refused",
    "Timed out",
)


def is_peer_failure(e: BaseException) -> bool:
    """Whether ``e`` says another process of the job went away (not a bug of this one)."""
    if isinstance(e, dist.DistError):
        return True
    text = str(e)
    return ("gloo" in text or "NCCL" in text) and any(s in text for s in _PEER_LOST)


def first_line(e: BaseException) -> str:
    """The gist of an error from torch.distributed, without gloo's source location."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    if not lines:
        return type(e).__name__
    text = re.sub(r"^\[[^\]]*\.(cc|cpp|h):\d+\]\s*", "", lines[0])
    return text.split(". ")[0][:200]


def launch(
    argv: Sequence[str], nproc: int, *, max_restarts: int = 0, env: dict[str, str] | None = None
) -> int:
    """Run ``reslab ARGV`` as ``nproc`` processes on this machine under torchrun.

    This is ``torchrun --standalone --nproc-per-node N --max-restarts R -m reslab ARGV``.
    SIGTERM and SIGINT sent to this process go to the workers themselves, so they save a
    checkpoint at the next step boundary and exit 0, and so does this process (torchrun,
    signalled directly, stops the workers and reports a failure). A restarted worker resumes
    from the newest checkpoint by itself (see :func:`restart_count`). ``env`` is added to the
    workers' environment. Returns torchrun's exit status.
    """
    import psutil

    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        f"--max-restarts={max_restarts}",
        "-m",
        "reslab",
        *argv,
    ]
    # A session of its own: a terminal's Ctrl-C reaches only this process, which passes it on.
    agent = subprocess.Popen(cmd, start_new_session=True, env={**os.environ, **(env or {})})

    def forward(signum: int, frame: Any) -> None:
        # the training processes only: their DataLoader workers must not be signalled
        with contextlib.suppress(psutil.Error):
            for worker in psutil.Process(agent.pid).children():
                with contextlib.suppress(psutil.Error):
                    worker.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return agent.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if agent.poll() is None:  # this process is going away: do not leave the job running
            agent.terminate()
