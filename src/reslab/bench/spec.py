"""What `reslab bench` measures, as plain data: cases, targets, suites and result rows.

Nothing here imports torch, so the CLI can build and validate a run before any worker starts.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from reslab.errors import ConfigError

Mode = Literal["train", "eval", "e2e", "ckpt", "schedule", "trainer"]
Precision = Literal["fp32", "bf16", "fp16"]
Metric = Literal["ratio", "utilisation", "e2e_vs_bare", "img_s", "wall_s"]

MODES: tuple[str, ...] = ("train", "eval", "e2e", "ckpt", "schedule", "trainer")
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")
TRAIN_LIKE: tuple[str, ...] = ("train", "e2e", "ckpt", "schedule", "trainer")
"""Modes whose FLOPs count as 3x the forward (forward, input gradients, weight gradients)."""

REFERENCE_KIND = {
    "train": "eager fp32 NCHW, plain SGD",
    "eval": "eager fp32 NCHW, no_grad",
    "e2e": "eager step + torchvision DataLoader pipeline",
    "schedule": "eager step + torchvision DataLoader pipeline (projected)",
    "ckpt": "reslab without activation checkpointing",
    "trainer": "eager fp32 NCHW, plain SGD",
}
"""What the ``ref_*`` columns of a row were measured on, per mode."""


@dataclass(frozen=True)
class Target:
    """A goal a row must reach: ``metric >= minimum`` and/or ``metric <= maximum`` (a time).
    Targets are never lowered to pass."""

    metric: Metric
    minimum: float | None = None
    why: str = ""
    """Where the target comes from."""
    maximum: float | None = None

    def __post_init__(self) -> None:
        if self.minimum is None and self.maximum is None:
            raise ConfigError(f"target on {self.metric} needs a minimum or a maximum")

    def met_by(self, value: float | None) -> bool:
        if value is None or not math.isfinite(value):
            return False
        low_ok = self.minimum is None or value >= self.minimum
        return low_ok and (self.maximum is None or value <= self.maximum)

    def describe(self) -> str:
        parts = []
        if self.minimum is not None:
            parts.append(f"{self.metric} >= {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"{self.metric} <= {self.maximum:g}")
        return " and ".join(parts)


@dataclass(frozen=True)
class Case:
    """One measurement: reslab's path and its reference on the same model, batch and device."""

    model: str
    mode: Mode = "train"
    batch: int = 128
    size: int = 32
    """Input height and width."""
    device: str = "cpu"
    precision: Precision = "fp32"
    """reslab's precision (autocast); the eager reference always runs fp32."""
    channels_last: bool | None = None
    """reslab's memory format; None: the trainer's choice for the device
    (``utils.runtime.preferred_channels_last``)."""
    compile: bool = False
    cuda_graphs: bool = False
    """Capture reslab's whole training step in a CUDA graph (train mode, CUDA only)."""
    warmup: int = 3
    """Steps run before timing (excluded from every figure)."""
    steps: int = 0
    """Steps per timed window; 0 picks enough for about ``window_s`` seconds per window."""
    windows: int = 5
    """Timed windows per side (quiet rounds wanted; up to twice as many are run on a busy
    machine); figures are medians over them."""
    window_s: float = 1.0
    ceiling_size: int = 4096
    """Square matmul size of the device ceiling (fp32 on CPU, bf16 on GPU)."""
    workers: int = 2
    """DataLoader worker processes of the reference pipeline (e2e, schedule)."""
    dataset_size: int = 0
    """Images held in memory for e2e/schedule (0: 40 batches for e2e, 50,000 for schedule)."""
    iterations: int = 0
    """schedule mode: optimizer steps of the full run (the paper's CIFAR recipe: 64,000);
    trainer mode: steps of each `reslab train` run (one per round)."""
    recipe: str = ""
    """trainer mode: the recipe `reslab train` runs (on synthetic data of the recipe's shape);
    its log windows are ``steps`` long, and the first of each run is warm-up."""
    targets: tuple[Target, ...] = ()
    profile: bool = False
    """Also profile reslab's step (torch.profiler: time per op group, time outside ops)."""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        for key in ("batch", "size", "windows", "ceiling_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1, got {getattr(self, key)}")
        for key in ("warmup", "steps", "workers", "dataset_size", "iterations"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{key} must be >= 0, got {getattr(self, key)}")
        if self.cuda_graphs and (self.mode in ("eval", "ckpt") or self.device == "cpu"):
            raise ConfigError("cuda_graphs applies to train, e2e and schedule on a CUDA device")
        if self.cuda_graphs and self.precision == "fp16":
            raise ConfigError("cuda_graphs excludes fp16 (its GradScaler cannot be captured)")
        if self.mode == "schedule" and self.iterations < 1:
            raise ConfigError("schedule mode needs iterations >= 1")
        if self.mode == "trainer":
            if not self.recipe:
                raise ConfigError("trainer mode needs a recipe")
            if self.cuda_graphs or self.compile or self.channels_last is not None:
                raise ConfigError(
                    "trainer mode runs the recipe as it is: set compile, CUDA graphs and the "
                    "memory format in the recipe, not on the case"
                )
            if self.iterations < 2 * max(self.steps, 1):
                raise ConfigError(
                    "trainer mode needs iterations >= 2 log windows (the first is warm-up)"
                )

    @property
    def flops_factor(self) -> int:
        return 3 if self.mode in TRAIN_LIKE else 1

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["targets"] = [asdict(t) for t in self.targets]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Case:
        d = dict(d)
        d["targets"] = tuple(Target(**t) for t in d.get("targets", ()))
        return cls(**d)


@dataclass
class Row:
    """The figures of one case. ``ref_*`` fields describe the reference (see ``reference``)."""

    model: str
    mode: str
    batch: int
    size: int
    device: str
    dtype: str
    channels_last: bool
    compile: bool
    img_s: float
    """Median images per second over the timed windows."""
    ref_img_s: float
    ratio: float
    """Median over rounds of (reslab / reference) img/s, each round timing both back to back."""
    peak_mem: int
    """Bytes: CUDA max allocated, or the worker process's peak RSS on CPU."""
    ref_peak_mem: int
    step_mem: int
    """What a training step adds at its peak: by default the peak minus the memory held before
    the first step; ckpt rows measure one step exactly (see ``step_mem_kind``)."""
    ref_step_mem: int
    peak_mem_kind: str
    utilisation: float
    """Achieved FLOP/s over the device ceiling, median over rounds (paired with the ceiling)."""
    ref_utilisation: float
    gflops: float
    """Achieved GFLOP/s (2 FLOPs per multiply-add; training counts 3x the forward)."""
    ceiling_gflops: float
    flops_per_image: int
    """Forward FLOPs of one image (reslab.models.count_flops)."""
    reference: str
    steps_per_window: int
    ref_steps_per_window: int
    img_s_windows: list[float] = field(default_factory=list)
    """img/s of every round, quiet or not, in order."""
    ref_img_s_windows: list[float] = field(default_factory=list)
    foreign_load: list[float] = field(default_factory=list)
    """Cores other processes used during each round (shared machines)."""
    rounds_used: int = 0
    """Rounds the medians are taken over (the quiet ones, when enough were quiet)."""
    bare_img_s: float | None = None
    """e2e/schedule: reslab's bare step (fixed batch, no data loading) in the same rounds."""
    e2e_vs_bare: float | None = None
    """e2e and trainer: median over rounds of (in-memory epoch or `reslab train` / bare step)
    img/s."""
    wall_s: float | None = None
    """schedule: wall time of reslab's whole run; ref_wall_s is the reference's, projected."""
    ref_wall_s: float | None = None
    targets: list[dict[str, Any]] = field(default_factory=list)
    step_mem_kind: str = "growth_of_peak"
    """growth_of_peak (peak over the case minus the memory before its first step),
    tensor_bytes (CPU, torch.profiler memory timeline of one step) or cuda_allocated."""
    profile: dict[str, Any] | None = None
    """With --profile: reslab's step time per op group and its top ops (torch.profiler)."""
    notes: list[str] = field(default_factory=list)
    env: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check_targets(self, targets: tuple[Target, ...], *, verified: bool = True) -> None:
        """Record each target with its value; ``met`` is None (unverified) when the figures
        come from rounds that other processes disturbed."""
        self.targets = []
        for t in targets:
            value = getattr(self, t.metric)
            met = t.met_by(value)
            self.targets.append(
                {
                    **asdict(t),
                    "text": t.describe(),
                    "value": value,
                    "met": met if verified else None,
                }
            )


# ----------------------------------------------------------------------------- suites
# The issue "Make it fast, and prove it" sets these on the 2-core development machine.
_ISSUE = "issue: make it fast, and prove it"
CPU_TARGETS = {
    "ratio_cifar": Target("ratio", 1.25, _ISSUE),
    "ratio_imagenet": Target("ratio", 1.2, _ISSUE),
    "util_resnet56": Target("utilisation", 0.70, _ISSUE),
    "e2e": Target("e2e_vs_bare", 0.90, _ISSUE),
    "trainer_ratio": Target("ratio", 1.3, "issue: the speed users get"),
    "trainer_vs_bare": Target("e2e_vs_bare", 0.95, "issue: the speed users get"),
}
GPU_TARGETS = {
    "schedule_s": Target("wall_s", why=_ISSUE + " (one H100)", maximum=120.0),
    "e2e_ratio": Target("ratio", 8.0, _ISSUE + " (one H100)"),
    "r50_img_s": Target("img_s", 3000.0, _ISSUE + " (one H100, bf16)"),
    "r50_ratio": Target("ratio", 1.3, _ISSUE + " (one H100, bf16)"),
}


def suite(name: str) -> list[Case]:
    """The named set of cases: ``cpu`` (the issue's CPU targets, < 5 min on 2 cores),
    ``gpu`` (run by benchmarks/gpu.sh), ``smoke`` (tiny sizes, seconds, for CI)."""
    t = CPU_TARGETS
    if name == "cpu":
        return [
            Case("resnet20", "train", 128, windows=7, targets=(t["ratio_cifar"],)),
            Case("resnet56", "train", 128, windows=7,
                 targets=(t["ratio_cifar"], t["util_resnet56"])),
            Case("resnet20", "e2e", 128, windows=7, targets=(t["e2e"],)),
            Case("resnet50", "train", 16, 224, warmup=2, steps=1, windows=5,
                 targets=(t["ratio_imagenet"],)),
            Case("resnet56", "eval", 128, warmup=2),
            Case("resnet50", "eval", 16, 224, warmup=2),
            trainer_case("cifar10_resnet56", "resnet56", 128, iterations=30, steps=5,
                         windows=3, targets=(t["trainer_ratio"], t["trainer_vs_bare"])),
        ]  # fmt: skip
    if name == "gpu":
        return gpu_suite()
    if name == "smoke":
        small = dict(warmup=1, steps=2, windows=2, ceiling_size=256)
        return [
            Case("resnet20", "train", 8, 16, **small),
            Case("resnet20", "eval", 8, 16, **small),
            Case("resnet20", "e2e", 8, 16, workers=1, dataset_size=32, **small),
            Case("resnet20", "ckpt", 8, 16, **small),
        ]
    raise ConfigError(f"unknown suite {name!r}: cpu, gpu or smoke")


def trainer_case(recipe: str, model: str, batch: int, **kw: Any) -> Case:
    """`reslab train RECIPE` on synthetic data, timed from its metrics log, beside the reference
    step and reslab's bare step on the same model and batch (``model`` and ``batch`` are the
    recipe's: :func:`reslab.bench.cli.build_cases` reads them from it)."""
    kw.setdefault("iterations", 30)
    kw.setdefault("steps", 5)
    kw.setdefault("windows", 3)
    return Case(model, "trainer", batch, recipe=recipe, **kw)


def gpu_suite(*, dry_run: bool = False) -> list[Case]:
    """benchmarks/gpu.sh: the paper's ResNet-56 schedule, the e2e ratio and ResNet-50 bf16.

    ``dry_run`` runs the same cases on the CPU at tiny sizes, so the script is known to work.
    """
    fast = dict(device="cuda", precision="bf16", channels_last=True, ceiling_size=8192)
    t = GPU_TARGETS
    cases = [
        Case("resnet56", "schedule", 128, iterations=64_000, compile=True, cuda_graphs=True,
             windows=5, targets=(t["schedule_s"],), **fast),
        Case("resnet56", "e2e", 128, warmup=20, windows=7, workers=8, compile=True,
             cuda_graphs=True, targets=(t["e2e_ratio"],), **fast),
        Case("resnet50", "train", 128, 224, warmup=10, windows=7,
             targets=(t["r50_img_s"], t["r50_ratio"]), **fast),
        Case("resnet56", "train", 128, warmup=20, windows=7, cuda_graphs=True, **fast),
    ]  # fmt: skip
    if not dry_run:
        return cases
    tiny = []
    for c in cases:
        tiny.append(
            replace(
                c,
                device="cpu",
                precision="fp32",
                compile=False,
                cuda_graphs=False,
                batch=4,
                size=16 if c.size == 32 else 32,
                warmup=1,
                steps=1,
                windows=2,
                workers=1,
                dataset_size=16,
                ceiling_size=256,
                iterations=min(c.iterations, 6),
                targets=(),  # tiny CPU sizes say nothing about the GPU targets
            )
        )
    return tiny
