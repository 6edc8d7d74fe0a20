"""A bench worker process: holds one side (reslab or reference) of one case at a time and
times it when the runner asks, so both sides can be timed in alternating windows.

Each side runs in its own process, so reslab's process-wide settings (the trainer's:
``utils.runtime.apply_training_runtime``, and the OpenMP environment the runner starts it with)
apply to reslab only, and each side's peak memory is its own. Run as
``python -m reslab.bench.worker reslab|plain`` (the runtime: reslab's CPU settings, or torch's
defaults); one JSON command per line on stdin, one JSON reply per line on the original stdout
(anything else printed goes to stderr).
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import time
import traceback
from typing import Any


class Worker:
    def __init__(self, runtime: str, tuned: dict[str, Any]) -> None:
        self.runtime = runtime
        self.tuned = tuned
        self.workload = None
        self.device = None
        self.baseline = 0

    # ------------------------------------------------------------------ commands
    def handle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        op = cmd["op"]
        if op == "setup":
            return self.setup(cmd["case"], cmd["side"])
        if op == "warmup":
            return {"seconds": [self.time_steps("main", 1) for _ in range(cmd["steps"])]}
        if op == "window":
            return {"seconds": self.time_steps(cmd.get("kind", "main"), cmd["steps"])}
        if op == "step_memory":
            return self.step_memory()
        if op == "profile":
            return self.profile(cmd["steps"])
        if op == "ceiling":
            return {"flops_s": self.ceiling(cmd["size"])}
        if op == "memory":
            peak, kind = self.peak_memory()
            return {"peak": peak, "baseline": self.baseline, "kind": kind}
        if op == "teardown":
            self.teardown()
            return {}
        if op == "info":
            from reslab.utils.env import environment

            return {"env": environment(), "tuned": self.tuned}
        if op == "exit":
            self.teardown()
            return {}
        raise ValueError(f"unknown worker command {op!r}")

    def setup(self, case_dict: dict[str, Any], side: str) -> dict[str, Any]:
        import torch

        from reslab.bench.spec import Case
        from reslab.bench.workloads import build

        case = Case.from_dict(case_dict)
        self.device = torch.device(case.device)
        if self.runtime == "reslab":
            from reslab.utils.runtime import apply_training_runtime

            # what the trainer applies at start, for this case's device
            self.tuned = apply_training_runtime(self.device.type)
        # cuDNN autotuning as the trainer's runtime setup does; the plain reference keeps torch's
        # default (off)
        torch.backends.cudnn.benchmark = self.runtime == "reslab"
        self.reset_peak_memory()
        self.workload = build(case, side)  # type: ignore[arg-type]
        self.sync()
        self.baseline = self.current_memory()
        from reslab.bench.workloads import channels_last

        return {
            "flops_per_image": self.workload.flops_per_image,
            "describe": self.workload.describe,
            "has_bare": self.workload.has_bare,
            "channels_last": channels_last(case, self.device) if side == "reslab" else False,
        }

    def time_steps(self, kind: str, steps: int) -> float:
        assert self.workload is not None, "setup first"
        run = self.workload.step if kind == "main" else self.workload.bare
        self.sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            run()
        self.sync()
        return time.perf_counter() - t0

    def profile(self, steps: int) -> dict[str, Any]:
        """Where reslab's step spends its time: torch.profiler self time per op group, and the
        wall time outside any aten op (Python, the autograd engine, the allocator)."""
        from torch.profiler import ProfilerActivity, profile

        assert self.workload is not None, "setup first"
        self.sync()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            t0 = time.perf_counter()
            for _ in range(steps):
                self.workload.step()
            self.sync()
            wall = (time.perf_counter() - t0) / steps
        groups: dict[str, float] = {}
        top = []
        in_ops = 0.0
        for e in prof.key_averages():
            if not e.key.startswith("aten::"):
                continue
            self_s = e.self_cpu_time_total / 1e6 / steps
            in_ops += self_s
            group = _op_group(e.key)
            groups[group] = groups.get(group, 0.0) + self_s
            top.append((e.key, self_s, e.count // steps))
        groups["outside aten ops (Python, autograd engine)"] = max(0.0, wall - in_ops)
        top.sort(key=lambda t: -t[1])
        return {"wall_s": wall, "groups": groups, "top": top[:12]}

    def step_memory(self) -> dict[str, Any]:
        """Bytes one step allocates above what is live before it (activations, gradients,
        workspace), at its peak: CUDA allocator statistics, or on the CPU the memory timeline
        of torch.profiler (tensor bytes, without the C allocator's slack)."""
        import torch

        assert self.workload is not None, "setup first"
        if self.device is not None and self.device.type == "cuda":
            self.sync()
            base = torch.cuda.memory_allocated(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.workload.step()
            self.sync()
            return {"bytes": torch.cuda.max_memory_allocated(self.device) - base,
                    "kind": "cuda_allocated"}  # fmt: skip
        try:
            from torch.profiler import ProfilerActivity, profile
            from torch.profiler._memory_profiler import MemoryProfileTimeline

            with profile(
                activities=[ProfilerActivity.CPU],
                profile_memory=True,
                record_shapes=True,
                with_stack=True,
            ) as prof:
                self.workload.step()
            _, sizes = MemoryProfileTimeline(prof._memory_profile())._coalesce_timeline("cpu")
            totals = [sum(s) for s in sizes]
            return {"bytes": int(max(totals) - totals[0]), "kind": "tensor_bytes"}
        except Exception:  # a private API: fall back to the growth of the peak RSS
            self.reset_peak_memory()
            before = self.current_memory()
            self.workload.step()
            return {"bytes": max(0, _proc_status("VmHWM") - before), "kind": "rss_growth"}

    def ceiling(self, n: int) -> float:
        """FLOP/s of a large square matmul: fp32 on CPU, bf16 on CUDA (the device's practical
        peak for the dense math a ResNet is made of)."""
        import torch

        device = self.device or torch.device("cpu")
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        out = torch.empty(n, n, device=device, dtype=dtype)
        torch.mm(a, b, out=out)
        self.sync()
        reps, elapsed = 0, 0.0
        t0 = time.perf_counter()
        while reps < 2 or elapsed < 0.2:
            torch.mm(a, b, out=out)
            self.sync()
            reps += 1
            elapsed = time.perf_counter() - t0
        return 2.0 * n**3 * reps / elapsed

    def teardown(self) -> None:
        if self.workload is not None:
            self.workload.close()
        self.workload = None
        gc.collect()
        if self.device is not None and self.device.type == "cuda":
            import torch

            torch.cuda.empty_cache()
        from reslab.utils.runtime import release_freed_memory

        release_freed_memory()

    # ------------------------------------------------------------------ helpers
    def sync(self) -> None:
        if self.device is not None and self.device.type == "cuda":
            import torch

            torch.cuda.synchronize(self.device)

    def reset_peak_memory(self) -> None:
        if self.device is not None and self.device.type == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats(self.device)
            return
        try:  # Linux: reset the peak RSS (VmHWM) to the current RSS
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass

    def current_memory(self) -> int:
        if self.device is not None and self.device.type == "cuda":
            import torch

            return int(torch.cuda.memory_allocated(self.device))
        return _proc_status("VmRSS") or _rss_psutil()

    def peak_memory(self) -> tuple[int, str]:
        if self.device is not None and self.device.type == "cuda":
            import torch

            return int(torch.cuda.max_memory_allocated(self.device)), "cuda_max_allocated"
        hwm = _proc_status("VmHWM")
        if hwm:
            return hwm, "process_peak_rss"
        # ru_maxrss is the peak of the whole process life (KiB on Linux, bytes on macOS)
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale, "process_peak_rss"


_GROUPS = (
    ("convolution", ("convolution",)),
    ("batch norm", ("batch_norm",)),
    ("ReLU fwd/bwd", ("relu", "threshold", "clamp_min")),
    ("optimizer", ("_foreach", "_fused", "sgd")),
)


def _op_group(name: str) -> str:
    for group, keys in _GROUPS:
        if any(k in name for k in keys):
            return group
    return "other aten ops"


def _proc_status(key: str) -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _rss_psutil() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def main() -> int:
    runtime = sys.argv[1] if len(sys.argv) > 1 else "plain"
    # Replies go to the original stdout; stray prints from libraries go to stderr.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    tuned: dict[str, Any] = {}
    if runtime == "reslab":
        from reslab.utils.runtime import apply_training_runtime

        tuned = apply_training_runtime("cpu")  # again per case, with the case's device
    worker = Worker(runtime, tuned)
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        try:
            reply = worker.handle(cmd)
        except Exception as e:  # reported to the runner, which decides what to do
            reply = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
        proto.write(json.dumps(reply) + "\n")
        if cmd["op"] == "exit":
            break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
