"""`reslab` with faults injected: ``python probe.py ARGS...`` runs ``reslab ARGS...``.

The reliability and distributed tests launch this file (directly, or as torchrun's script) so
that a fault lands at an exact point of a real process. Faults are chosen by environment
variables; with none set this is plain ``reslab``.

- PROBE_STALL_SAVE_AT=N: the checkpoint of step N writes half its bytes, creates the file
  named by PROBE_MARKER, then hangs (the test SIGKILLs the process mid-write).
- PROBE_ENOSPC_AT=N: the checkpoint of step N fails half-way with OSError(ENOSPC).
- PROBE_NAN_INPUT=3,4: the 3rd and 4th batches this process draws hold a NaN (or the value
  PROBE_BAD_VALUE, e.g. inf).
- PROBE_INF_GRAD=3,4: the 3rd and 4th backward passes of this process give the model's last
  parameter an inf gradient, through a hook (the loss stays finite).
- PROBE_POISON_OPTIMIZER=1: the optimizer starts with lr=999 and momentum=0.123, so a resume
  that does not restore the real ones shows in the weights.
- PROBE_STEP_DELAY=S: sleep S seconds per batch (a short run lives long enough to be killed).
- PROBE_WRITES=FILE: append "RANK PATH" to FILE for every file published under PROBE_WATCH
  (os.replace, and open() for writing).
- PROBE_RANK=R: apply PROBE_NAN_INPUT only on rank R.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import sys
import time
from pathlib import Path


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value else None


def _rank() -> str:
    return os.environ.get("RANK", "0")


def _patch_checkpoint_writes() -> None:
    import torch

    stall_at, enospc_at = _env_int("PROBE_STALL_SAVE_AT"), _env_int("PROBE_ENOSPC_AT")
    if stall_at is None and enospc_at is None:
        return
    real_save = torch.save

    def save(obj, f, *args, **kwargs):
        step = obj.get("step") if isinstance(obj, dict) else None
        if step not in (stall_at, enospc_at) or isinstance(f, (str, os.PathLike)):
            return real_save(obj, f, *args, **kwargs)
        buffer = io.BytesIO()
        real_save(obj, buffer, *args, **kwargs)
        data = buffer.getvalue()
        f.write(data[: len(data) // 2])
        f.flush()
        os.fsync(f.fileno())
        if step == enospc_at:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        Path(os.environ["PROBE_MARKER"]).touch()
        time.sleep(3600)

    torch.save = save


def _patch_batches() -> None:
    nan_at = {int(s) for s in os.environ.get("PROBE_NAN_INPUT", "").split(",") if s}
    only_rank = os.environ.get("PROBE_RANK")
    if only_rank is not None and only_rank != _rank():
        nan_at = set()
    delay = float(os.environ.get("PROBE_STEP_DELAY", "0"))
    if not nan_at and not delay:
        return
    from reslab.engine import setup

    real_iter = setup.RunData.iter_train
    drawn = [0]

    def iter_train(self, start_batch):
        for x, y in real_iter(self, start_batch):
            drawn[0] += 1
            if drawn[0] in nan_at:
                x = x.clone()
                x.view(-1)[0] = float(os.environ.get("PROBE_BAD_VALUE", "nan"))
            if delay:
                time.sleep(delay)
            yield x, y

    setup.RunData.iter_train = iter_train


def _patch_gradients() -> None:
    inf_at = {int(s) for s in os.environ.get("PROBE_INF_GRAD", "").split(",") if s}
    if not inf_at:
        return
    import torch

    from reslab.engine import trainer

    real_build = trainer.build_model
    backwards = [0]

    def hook(grad):
        backwards[0] += 1
        return torch.full_like(grad, float("inf")) if backwards[0] in inf_at else grad

    def build_model(cfg, data):
        model = real_build(cfg, data)
        list(model.parameters())[-1].register_hook(hook)
        return model

    trainer.build_model = build_model


def _patch_optimizer() -> None:
    if not os.environ.get("PROBE_POISON_OPTIMIZER"):
        return
    from reslab.engine import trainer

    real_build = trainer.build_optimizer

    def build_optimizer(model, cfg):
        optimizer = real_build(model, cfg)
        for group in optimizer.param_groups:
            group["lr"], group["momentum"] = 999.0, 0.123
        return optimizer

    trainer.build_optimizer = build_optimizer


def _patch_write_log() -> None:
    log, watch = os.environ.get("PROBE_WRITES"), os.environ.get("PROBE_WATCH")
    if not log or not watch:
        return
    watch_dir = os.path.realpath(watch)

    def record(path) -> None:
        full = os.path.realpath(os.fspath(path))
        if full.startswith(watch_dir + os.sep):
            fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, f"{_rank()} {full}\n".encode())
            finally:
                os.close(fd)

    real_replace, real_open = os.replace, builtins.open

    def replace(src, dst, *args, **kwargs):
        real_replace(src, dst, *args, **kwargs)
        record(dst)

    def open_(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and any(c in mode for c in "wax+"):
            record(file)
        return real_open(file, mode, *args, **kwargs)

    os.replace = replace
    builtins.open = io.open = open_


def main() -> int:
    _patch_write_log()
    _patch_checkpoint_writes()
    _patch_batches()
    _patch_gradients()
    _patch_optimizer()
    from reslab.cli import main as reslab_main

    return reslab_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
