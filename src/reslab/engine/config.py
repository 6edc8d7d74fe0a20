"""Typed training configs, YAML recipes with a ``_base_`` chain, and command-line overrides.

A recipe states only what differs from its base::

    _base_: base_cifar.yaml
    model: {name: resnet56}

Every field has a one-line docstring; unknown keys and bad values are errors that name the key
and the valid choices.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml

from reslab.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


@dataclass
class ModelConfig:
    name: str = "resnet20"
    """A registered model name (`reslab models` lists them)."""
    shortcut: Literal["A", "B", "C", "none"] | None = None
    """Override the model's shortcut option; None keeps the registered one."""
    zero_init_residual: bool = False
    """Start every block as the identity (last BN gamma = 0)."""
    dropout: float = 0.0
    """Dropout before the classifier (off in the paper)."""
    stride_on: Literal["3x3", "1x1"] | None = None
    """Bottlenecks: stride on the 3x3 conv (torchvision's v1.5) or on the first 1x1 (the paper's
    v1); None keeps the registered one (3x3)."""
    preact: bool | None = None
    """Pre-activation blocks (He et al. 2016); None keeps the registered choice."""
    stem_width: int | None = None
    """Channels of the stem conv; None keeps the registered one (the first stage's width)."""
    pretrained: str | None = None
    """Weights to start from (reslab run/safetensors, torchvision file, CIFAR checkpoint)."""
    freeze_stages: int = 0
    """Freeze the stem and the first N stages when fine-tuning; 0 freezes nothing (as
    models.freeze_stages(model, 0) does)."""
    activation_checkpointing: bool = False
    """Recompute each stage in backward to save activation memory."""
    stochastic_depth: float = 0.0
    """Stochastic depth (Huang et al. 2016): the last block drops its residual branch with this
    probability, block i of N with i/N of it (linear in depth); 0 = off (the paper)."""

    def __post_init__(self) -> None:
        _check(0.0 <= self.dropout < 1.0, "model.dropout", "must be in [0, 1)", self.dropout)
        _check(
            0.0 <= self.stochastic_depth < 1.0,
            "model.stochastic_depth",
            "must be in [0, 1)",
            self.stochastic_depth,
        )
        _check(self.freeze_stages >= 0, "model.freeze_stages", "must be >= 0", self.freeze_stages)
        _check(
            self.stem_width is None or self.stem_width >= 1,
            "model.stem_width",
            "must be >= 1",
            self.stem_width,
        )


@dataclass
class DataConfig:
    name: str = "cifar10"
    """digits, mnist5k, cifar10, cifar100, mnist, fashion_mnist, synthetic, or folder."""
    root: str | None = None
    """Where the dataset's files are (for folder: the directory with train/ and val/)."""
    download: bool = False
    """Download the official archive into root if it is missing."""
    val_size: int | float = field(
        default=0, metadata={"takes": "a count (an integer) or a fraction in (0, 1)"}
    )
    """Held-out validation split of the training set: an int is a count of images (5000), a
    float in (0, 1) a fraction of the training set (0.1); 0 holds nothing out."""
    split_seed: int = 0
    """Seed of the train/validation split, fixed apart from train.seed so that seed-to-seed
    spread is initialisation and data-order noise, not split noise."""
    batch_size: int = 128
    """Global mini-batch size (divided among processes under torchrun)."""
    eval_batch_size: int = 500
    """Batch size for evaluation."""
    crop_pad: int = 0
    """Pad-and-random-crop augmentation (the paper pads 4 pixels on CIFAR)."""
    flip: bool = False
    """Random horizontal flips."""
    rotate_deg: float = 0.0
    """Random rotation up to this many degrees (off in the paper)."""
    color_jitter: float = 0.0
    """Brightness/contrast jitter strength (off in the paper)."""
    image_size: int | None = None
    """Image folders: the size the net is fed. None: the native size of the images for the
    CIFAR pipeline, 224 for the ImageNet pipeline (see folder_pipeline)."""
    folder_pipeline: Literal["auto", "cifar", "imagenet"] = "auto"
    """Image folders: "cifar" holds the images in memory at their native size (or image_size)
    and trains them as the CIFAR archive (the recipe's pad-crop and flip on the device, the
    training set's channel statistics); "imagenet" decodes random-resized crops of image_size
    in DataLoader workers, with ImageNet's mean and std. "auto": as the model's stem (a CIFAR
    net gets "cifar", an ImageNet net "imagenet")."""
    eval_image_size: int | None = None
    """Image folders: centre-crop size for evaluation (and predict); None: image_size. FixRes
    (Touvron et al. 2019): a net trained on 176 crops tests better at 224."""
    eval_resize: int | None = None
    """Image folders: shorter side before the evaluation crop; None: eval size * 256/224."""
    auto_augment: Literal["none", "trivialaugment", "randaugment"] = "none"
    """Per-image TrivialAugmentWide or RandAugment (torchvision defaults), on uint8 images."""
    random_erase: float = 0.0
    """Random erasing: each training image gets an erased rectangle with this probability."""
    lighting: float = 0.0
    """Image folders: AlexNet's PCA colour (lighting) noise with this std (0.1 in the 2012 and
    2015 ImageNet recipes), ImageNet's eigenvalues and eigenvectors; 0 = off."""
    mixup_alpha: float = 0.0
    """MixUp with a Beta(alpha, alpha) mixing weight per batch; 0 = off."""
    cutmix_alpha: float = 0.0
    """CutMix with a Beta(alpha, alpha) area per batch; 0 = off. With MixUp too, each batch
    gets one of the two, chosen with equal probability (torchvision's reference script)."""
    scale_aug: bool = False
    """Folder data: the paper's scale augmentation instead of random-resized-crop."""
    num_workers: int | None = None
    """DataLoader workers for image folders; None: one per usable core, at most 4."""
    max_bad_files: int = 10
    """Image folders: skip up to this many unreadable files, then stop."""

    def __post_init__(self) -> None:
        _check(self.batch_size >= 1, "data.batch_size", "must be >= 1", self.batch_size)
        _check(
            self.eval_batch_size >= 1, "data.eval_batch_size", "must be >= 1", self.eval_batch_size
        )
        self.val_size = split_size(self.val_size, "data.val_size")
        if self.root:  # data.root=~/data: the shell leaves a ~ after = alone
            self.root = os.path.expanduser(str(self.root))
        _check(self.crop_pad >= 0, "data.crop_pad", "must be >= 0", self.crop_pad)
        _check(
            self.num_workers is None or self.num_workers >= 0,
            "data.num_workers",
            "must be >= 0",
            self.num_workers,
        )
        for key in ("mixup_alpha", "cutmix_alpha", "lighting"):
            _check(getattr(self, key) >= 0, f"data.{key}", "must be >= 0", getattr(self, key))
        _check(
            0 <= self.random_erase <= 1, "data.random_erase", "must be in [0, 1]", self.random_erase
        )
        for key in ("image_size", "eval_image_size", "eval_resize"):
            value = getattr(self, key)
            _check(value is None or value >= 1, f"data.{key}", "must be >= 1", value)


@dataclass
class OptimConfig:
    name: Literal["sgd", "adamw"] = "sgd"
    """The optimizer."""
    lr: float = 0.1
    """Peak learning rate (for the global batch)."""
    momentum: float = 0.9
    """SGD momentum."""
    nesterov: bool = False
    """Nesterov momentum."""
    weight_decay: float = 1e-4
    """L2 weight decay."""
    no_decay_bn_bias: bool = False
    """Exempt BN parameters and biases from weight decay."""
    label_smoothing: float = 0.0
    """Label smoothing of the cross-entropy loss."""
    ema_decay: float = 0.0
    """Keep an exponential moving average of the weights with this decay (0 = off). When on,
    the EMA is the model of the run: evaluated, chosen as best.safetensors and shipped."""
    clip_grad_norm: float = 0.0
    """Clip the gradients' global L2 norm to this before each step (0 = off)."""
    scale_lr_with_batch: int | None = None
    """The batch that lr is given for: the run uses lr * data.batch_size / this (the linear
    scaling rule, Goyal et al. 2017); None uses lr as given."""

    def __post_init__(self) -> None:
        _check(self.lr > 0, "optim.lr", "must be > 0", self.lr)
        _check(self.weight_decay >= 0, "optim.weight_decay", "must be >= 0", self.weight_decay)
        _check(0 <= self.momentum < 1, "optim.momentum", "must be in [0, 1)", self.momentum)
        _check(
            0 <= self.label_smoothing < 1,
            "optim.label_smoothing",
            "must be in [0, 1)",
            self.label_smoothing,
        )
        _check(0 <= self.ema_decay < 1, "optim.ema_decay", "must be in [0, 1)", self.ema_decay)
        _check(
            self.clip_grad_norm >= 0, "optim.clip_grad_norm", "must be >= 0", self.clip_grad_norm
        )
        _check(
            self.scale_lr_with_batch is None or self.scale_lr_with_batch >= 1,
            "optim.scale_lr_with_batch",
            "must be a batch size >= 1 or null",
            self.scale_lr_with_batch,
        )


@dataclass
class ScheduleConfig:
    name: Literal["multistep", "cosine", "onecycle", "constant"] = "multistep"
    """Learning-rate schedule."""
    milestones: list[float] = field(default_factory=lambda: [0.5, 0.75])
    """multistep: where the lr is divided, as fractions of the run in (0, 1] (the paper's 32k
    and 48k of 64k iterations are 0.5 and 0.75), so a shortened run still decays."""
    gamma: float = 0.1
    """multistep: the factor at each milestone."""
    warmup_iters: int = 0
    """Linear warm-up from 0 over this many iterations."""
    warmup_start: float = 0.0
    """The linear warm-up starts at this fraction of the peak lr instead of 0 (torchvision's
    lr_warmup_decay)."""
    warmup_lr: float | None = None
    """A constant low lr at the start (the paper uses 0.01 for ResNet-110)."""
    warmup_until_train_error: float | None = None
    """Keep warmup_lr until the running training error (%) falls below this (paper: 80)."""
    warmup_max_iters: int = 2000
    """Give up the constant warm-up after this many iterations regardless."""

    def __post_init__(self) -> None:
        for i, m in enumerate(self.milestones):
            if not 0 < m <= 1:
                hint = (
                    f" (as a fraction of the run: {m:g} iterations of 64000 is {m / 64000:g})"
                    if m > 1
                    else ""
                )
                raise ConfigError(
                    f"schedule.milestones[{i}] must be a fraction of the run in (0, 1], "
                    f"got {m!r}{hint}"
                )
        _check(self.gamma > 0, "schedule.gamma", "must be > 0", self.gamma)
        _check(self.warmup_iters >= 0, "schedule.warmup_iters", "must be >= 0", self.warmup_iters)
        _check(
            0 <= self.warmup_start < 1,
            "schedule.warmup_start",
            "must be in [0, 1)",
            self.warmup_start,
        )


@dataclass
class TrainConfig:
    iterations: int = 64000
    """Optimizer steps in the whole run."""
    accumulate: int = 1
    """Micro-batches per optimizer step: each process runs data.batch_size / (processes *
    accumulate) images at a time and steps once per data.batch_size images (a batch larger than
    memory; the same gradient, up to BatchNorm seeing smaller batches)."""
    seed: int = 0
    """Seed for the model init, data order and augmentation."""
    device: str = "auto"
    """auto (CUDA if present), cpu, cuda, cuda:N."""
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    """Autocast precision; fp16 adds a GradScaler."""
    channels_last: bool | Literal["auto"] = "auto"
    """NHWC memory format: auto picks the layout measured fastest on the device (it does not
    change results beyond rounding); true or false forces one."""
    compile: bool = False
    """torch.compile the model."""
    cuda_graphs: bool = False
    """Replay the training step from a CUDA graph (CUDA only; fast for small nets, whose eager
    step waits on kernel launches). The rate must be piecewise constant to gain (multistep);
    needs SGD, fp32 or bf16, one process and max_bad_steps 0. See reslab.engine.graphs."""
    deterministic: bool = False
    """Deterministic algorithms, for bit-exact reruns and resumes."""
    threads: int = 0
    """CPU threads for torch (0 = leave torch's default)."""
    eval_every: int = 1000
    """Evaluate on val/test every N iterations (and at the end)."""
    eval_train: bool = False
    """Also measure the error on the whole training set (no augmentation) at each evaluation."""
    log_every: int = 100
    """Write a metrics line every N iterations."""
    checkpoint_every: int = 1000
    """Save a checkpoint every N iterations."""
    keep_checkpoints: int = 3
    """How many recent checkpoints to keep."""
    max_bad_steps: int = 0
    """Skip up to N steps with a non-finite loss before stopping the run."""
    sync_bn: bool = False
    """SyncBatchNorm under torchrun."""
    tensorboard: bool = True
    """Write TensorBoard event files."""
    progress: bool = True
    """Show a progress bar (plain log lines off a terminal)."""

    def __post_init__(self) -> None:
        for key in (
            "iterations",
            "accumulate",
            "eval_every",
            "log_every",
            "checkpoint_every",
            "keep_checkpoints",
        ):
            _check(getattr(self, key) >= 1, f"train.{key}", "must be >= 1", getattr(self, key))
        _check(self.max_bad_steps >= 0, "train.max_bad_steps", "must be >= 0", self.max_bad_steps)
        if self.cuda_graphs:
            _check(
                self.precision != "fp16",
                "train.precision",
                "must be fp32 or bf16 with "
                "train.cuda_graphs (fp16's GradScaler cannot be captured)",
                self.precision,
            )
            _check(
                self.max_bad_steps == 0,
                "train.max_bad_steps",
                "must be 0 with train.cuda_graphs (a graphed step cannot be skipped)",
                self.max_bad_steps,
            )
            _check(self.device != "cpu", "train.device", "must be a CUDA device with "
                   "train.cuda_graphs", self.device)  # fmt: skip


@dataclass
class Config:
    name: str = "run"
    """The run's name: its directory is out_dir/name."""
    out_dir: str = "runs"
    """Where run directories go."""
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        self.out_dir = os.path.expanduser(str(self.out_dir))  # out_dir=~/runs, as data.root

    @property
    def run_dir(self) -> Path:
        return Path(self.out_dir) / self.name

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def split_size(value: int | float, key: str) -> int | float:
    """A held-out split size: an int is a count, a float in (0, 1) a fraction (checked here, the
    one place where sizes are read). An integral float >= 1 (metadata written before sizes
    were typed: 5000.0) is the count it spells."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key} must be a count (int) or a fraction in (0, 1), got {value!r}")
    if isinstance(value, float) and value >= 1 and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        _check(value >= 0, key, "must be a count >= 0 or a fraction in (0, 1)", value)
        return value
    _check(0 < value < 1, key, "must be a count (an int) or a fraction in (0, 1)", value)
    return value


def _check(ok: bool, key: str, rule: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{key} {rule}, got {value!r}")


# ----------------------------------------------------------------------------- loading
def load_config(
    source: str | Path | dict | Config | None = None,
    overrides: list[str] | dict[str, Any] | None = None,
) -> Config:
    """Build a Config from a YAML recipe (or a dict), then apply ``key=value`` overrides."""
    if isinstance(source, Config):
        data = source.to_dict()
    elif isinstance(source, dict):
        data = source
    elif source is None:
        data = {}
    else:
        data = read_recipe(source)
        run_dir = _run_dir_of(Path(source))
        if run_dir is not None:
            # a run's own config.yaml names that run, wherever it was copied or moved to (its
            # stored out_dir is relative to where it was first started)
            data = {**data, "out_dir": str(run_dir.parent), "name": run_dir.name}
    data = _deep_copy(data)
    for key, value in _parse_overrides(overrides).items():
        _set_dotted(data, key, value)
    return from_dict(Config, data, prefix="")


RUN_FILES = ("metrics.jsonl", "summary.json", "model.json", "checkpoints")
"""What a training run writes beside its config.yaml (reslab.engine.rundir)."""


def _run_dir_of(path: Path) -> Path | None:
    """The run directory ``path`` is the config.yaml of, or None for a recipe."""
    if path.name != "config.yaml" or not path.is_file():
        return None
    folder = path.parent
    return folder if any((folder / f).exists() for f in RUN_FILES) else None


def resolve_recipe_path(path: str | Path) -> Path:
    """A recipe path as given, or the name of a recipe shipped with reslab."""
    p = Path(path)
    if p.is_file():
        return p
    if p.is_dir() and (p / "config.yaml").is_file():
        raise ConfigError(
            f"{path} is a run directory, not a recipe: continue it with "
            f"`reslab train --resume {path}`, or pass {p / 'config.yaml'}"
        )
    for candidate in (CONFIG_DIR / p.name, CONFIG_DIR / f"{p.name}.yaml"):
        if candidate.is_file():
            return candidate
    shipped = sorted(x.stem for x in CONFIG_DIR.glob("*.yaml"))
    close = difflib.get_close_matches(p.stem, shipped, n=3)
    hint = (
        f"did you mean {', '.join(close)}?" if close else f"shipped recipes: {', '.join(shipped)}"
    )
    raise ConfigError(f"config file not found: {path} ({hint})")


def read_recipe(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a YAML recipe and merge it over its ``_base_`` chain."""
    path = resolve_recipe_path(path).resolve()
    if path in _seen:
        raise ConfigError(f"{path} includes itself through _base_")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path} is not valid YAML{where}: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of config sections")
    base = data.pop("_base_", None)
    if base is None:
        return data
    base_path = (path.parent / base) if not Path(base).is_absolute() else Path(base)
    try:
        resolve_recipe_path(base_path)
    except ConfigError as e:  # name the recipe that asked for it
        raise ConfigError(f"_base_: {base} in {path}: {e}") from None
    return _merge(read_recipe(base_path, (*_seen, path)), data)


def _merge(base: dict, delta: dict) -> dict:
    out = dict(base)
    for k, v in delta.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _deep_copy(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _deep_copy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_deep_copy(v) for v in d]
    return d


def _parse_overrides(overrides: list[str] | dict[str, Any] | None) -> dict[str, Any]:
    if not overrides:
        return {}
    if isinstance(overrides, dict):
        return dict(overrides)
    out = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(
                f"override {item!r} must look like section.key=value, e.g. train.iterations=2000"
            )
        key, raw = item.split("=", 1)
        if raw.strip().lower() in _YAML11_WORDS:  # name=on is the text "on", not true
            out[key.strip()] = raw.strip()
            continue
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            out[key.strip()] = raw
    return out


_YAML11_WORDS = frozenset({"on", "off", "yes", "no", "y", "n"})
"""Words YAML 1.1 reads as booleans; on the command line they stay words (a bool field still
takes them: see _coerce)."""


def _set_dotted(data: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"override {key}: {part} is not a section")
        node = nxt
    node[parts[-1]] = value


def from_dict(cls: type, data: Any, prefix: str) -> Any:
    """Build dataclass ``cls`` from ``data``, checking every key and value type."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, list(fields), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"unknown config key {prefix}{key}: {hint}valid keys here: {', '.join(fields)}"
        )
    kwargs = {}
    for name, value in data.items():
        try:
            kwargs[name] = _coerce(hints[name], value, f"{prefix}{name}")
        except ConfigError:
            takes = fields[name].metadata.get("takes")
            if takes is None:
                raise
            # a field that names what it takes says so in place of its type's wording
            raise ConfigError(f"{prefix}{name} must be {takes}, got {value!r}") from None
    return cls(**kwargs)


def _coerce(tp: Any, value: Any, key: str) -> Any:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value if value is not None else {}, prefix=f"{key}.")
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, key)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{key}: bad value {value!r}")
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            raise ConfigError(
                f"{key} must be one of {', '.join(map(repr, choices))}, got {value!r}"
            )
        return value
    if origin is list:
        (item,) = get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        return [_coerce(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is bool:
        if isinstance(value, str) and value.lower() in _YAML11_WORDS:
            value = value.lower() in ("on", "yes", "y")
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
            value = _float_or_text(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{key} must be a finite number, got {value!r}")
        return float(value)
    if tp is str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)  # name=2024
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return value
    return value  # pragma: no cover


_DECIMAL = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _float_or_text(text: str) -> float | str:
    """``text`` as a float if it spells one in decimal or exponent notation, else unchanged."""
    return float(text) if _DECIMAL.fullmatch(text) else text


def dump_config(config: Config) -> str:
    return yaml.safe_dump(config.to_dict(), sort_keys=False)


# ----------------------------------------------------------------------------- identity
NOT_IDENTITY = frozenset(
    {
        "name",
        "out_dir",
        "data.root",
        "data.download",
        "data.num_workers",
        "train.progress",
        "train.tensorboard",
    }
)
"""Keys that say where a run lives or how it is shown, not what it trains."""


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"seed": 0}}`` -> ``{"train.seed": 0}``."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, f"{key}."))
        else:
            out[key] = v
    return out


def config_diff(a: Config | dict, b: Config | dict) -> list[str]:
    """The dotted keys whose values differ between two configs, identity keys only, sorted."""
    fa = flatten(a.to_dict() if isinstance(a, Config) else a)
    fb = flatten(b.to_dict() if isinstance(b, Config) else b)
    keys = (set(fa) | set(fb)) - NOT_IDENTITY
    return sorted(k for k in keys if fa.get(k) != fb.get(k))


def config_identity(config: Config | dict) -> str:
    """A run's identity: a short hash of its resolved config, without the keys that only say
    where the run lives or how it is shown (:data:`NOT_IDENTITY`). Two runs with the same
    identity train the same thing."""
    import hashlib
    import json

    if isinstance(config, dict):
        config = from_dict(Config, config, prefix="")
    flat = {k: v for k, v in flatten(config.to_dict()).items() if k not in NOT_IDENTITY}
    text = json.dumps(flat, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
