"""Every shipped recipe loads, and config mistakes are named."""

from pathlib import Path

import pytest

from reslab.engine.config import CONFIG_DIR, Config, flatten, load_config
from reslab.engine.optim import peak_lr
from reslab.engine.schedule import Schedule
from reslab.errors import ConfigError
from reslab.models import get_spec

RECIPES = sorted(CONFIG_DIR.glob("*.yaml"))
BEYOND_THE_PAPER = {"cifar10_resnet56_modern", "imagenet_resnet50_tv2"}
"""Recipes that use the training features added beyond the papers; every other one keeps them
off."""
OFF = {
    "model.stochastic_depth": 0.0,
    "data.auto_augment": "none",
    "data.random_erase": 0.0,
    "data.lighting": 0.0,
    "data.mixup_alpha": 0.0,
    "data.cutmix_alpha": 0.0,
    "data.eval_image_size": None,
    "data.eval_resize": None,
    "optim.clip_grad_norm": 0.0,
    "optim.scale_lr_with_batch": None,
    "schedule.warmup_start": 0.0,
    "train.accumulate": 1,
}
"""Each training feature added beyond the papers, at its off value."""


def test_recipes_are_shipped_and_visible_from_the_repo():
    names = {p.stem for p in RECIPES}
    for depth in (20, 32, 44, 56, 110):
        assert f"cifar10_resnet{depth}" in names and f"cifar10_plain{depth}" in names
    assert {
        "cifar10_preact_resnet164",
        "imagenet_resnet50",
        "imagenet_resnet50_v15",
        "digits_resnet20",
    } <= names
    repo_configs = Path(__file__).resolve().parents[2] / "configs"
    assert sorted(p.name for p in repo_configs.glob("*.yaml")) == [p.name for p in RECIPES]


PAPER_CIFAR_RATES = {0: 0.1, 31_999: 0.1, 32_000: 0.01, 47_999: 0.01, 48_000: 0.001, 63_999: 0.001}
"""He et al. 2015, section 4.2: lr 0.1, divided by 10 at 32k and 48k iterations, training
terminated at 64k (mini-batch 128): the rate at each of these (0-based) optimizer steps."""
PAPER_WARMUP_DEPTH = 110
"""Section 4.2: the 110-layer net warms up at 0.01 until the training error is below 80%, and
the deeper nets are "trained as described above" (ResNet-1202; pre-activation ResNet-164 and
-1001 in He et al. 2016). The plain twins share their ResNet's recipe, so the two differ only
in shortcuts."""


def _warmed_up(cfg: Config) -> bool:
    return get_spec(cfg.model.name).depth >= PAPER_WARMUP_DEPTH


def _schedule(cfg: Config) -> Schedule:
    return Schedule(cfg.schedule, peak_lr(cfg.optim, cfg.data.batch_size), cfg.train.iterations)


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_every_recipe_loads(path):
    assert isinstance(load_config(path), Config)


PAPER_CIFAR = [
    p for p in RECIPES if p.stem.startswith("cifar10_") and p.stem not in BEYOND_THE_PAPER
]


@pytest.mark.parametrize("path", PAPER_CIFAR, ids=lambda p: p.stem)
def test_paper_cifar_recipes_give_the_papers_rate_at_every_step(path):
    """The rates the trainer will use, from the composed recipe (base, delta, fractions of
    the run resolved to steps): the paper's, step for step, and the run ends at 64k."""
    cfg = load_config(path)
    assert cfg.model.name == path.stem.removeprefix("cifar10_")
    assert (cfg.data.batch_size, cfg.train.iterations) == (128, 64_000)
    schedule = _schedule(cfg)
    if _warmed_up(cfg):
        schedule.observe(0, lambda: 79.0)  # the warm-up ends once training error < 80%
    assert {step: schedule.lr(step) for step in PAPER_CIFAR_RATES} == pytest.approx(
        PAPER_CIFAR_RATES
    )


@pytest.mark.parametrize("path", PAPER_CIFAR, ids=lambda p: p.stem)
def test_only_nets_of_110_layers_or_more_start_at_001_until_training_error_is_below_80(path):
    cfg = load_config(path)
    schedule = _schedule(cfg)
    if not _warmed_up(cfg):
        assert schedule.lr(0) == pytest.approx(0.1)
        return
    for step, error in ((0, 95.0), (20, 85.0), (40, 80.0)):
        schedule.observe(step, lambda e=error: e)
        assert schedule.lr(step + 1) == pytest.approx(0.01), (step, error)
    schedule.observe(60, lambda: 79.9)
    assert schedule.lr(61) == pytest.approx(0.1)


def test_overrides_apply_with_types():
    cfg = load_config(
        "digits_resnet20",
        ["train.iterations=7", "optim.nesterov=true", "schedule.milestones=[0.3, 1]"],
    )
    assert cfg.train.iterations == 7 and cfg.optim.nesterov is True
    assert cfg.schedule.milestones == [0.3, 1.0]


@pytest.mark.parametrize(
    "override,match",
    [
        (["train.iteratons=5"], "unknown config key train.iteratons: did you mean 'iterations'"),
        (["optim.lr=-1"], "optim.lr must be > 0"),
        (["data.batch_size=abc"], "data.batch_size must be an integer"),
        (["train.precision=fp8"], "train.precision must be one of"),
        (["model.shortcut=D"], "model.shortcut must be one of"),
        (["nonsense"], "must look like section.key=value"),
    ],
)
def test_bad_overrides_are_named(override, match):
    with pytest.raises(ConfigError, match=match):
        load_config("digits_resnet20", override)


def test_missing_recipe_suggests_shipped_ones():
    with pytest.raises(ConfigError, match="did you mean digits_resnet20"):
        load_config("digits_resnet2")


def test_bad_yaml_names_the_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  iterations: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(bad)


@pytest.mark.parametrize(
    "path", [p for p in RECIPES if p.stem not in BEYOND_THE_PAPER], ids=lambda p: p.stem
)
def test_paper_recipes_keep_every_new_option_off(path):
    flat = flatten(load_config(path).to_dict())
    # the 2015 ImageNet recipe has AlexNet's colour augmentation (section 3.4: "the standard
    # color augmentation in [21] is used"); torchvision's v1.5 recipe has none
    paper = {**OFF, "data.lighting": 0.1} if path.stem == "imagenet_resnet50" else OFF
    assert {k: flat[k] for k in OFF} == paper


def test_the_modern_cifar_recipe_differs_from_the_papers_only_in_options_beyond_it():
    """Beside cifar10_resnet56 the modern recipe changes only training features the paper did
    not use, each away from its off value, and keeps the paper's budget (same images seen)."""
    modern = flatten(load_config("cifar10_resnet56_modern").to_dict())
    paper = flatten(load_config("cifar10_resnet56").to_dict())
    changed = {k for k in modern if modern[k] != paper[k]} - {"name"}
    # what its header names as torchvision's recipe at CIFAR scale
    beyond = set(OFF) | {
        "schedule.name", "schedule.milestones", "schedule.warmup_iters",
        "optim.label_smoothing", "optim.weight_decay", "optim.no_decay_bn_bias",
    }  # fmt: skip
    assert changed and changed <= beyond, changed - beyond
    assert all(modern[k] != OFF[k] for k in changed & set(OFF))
    budget = ("data.batch_size", "train.iterations", "model.name")
    assert {k: modern[k] for k in budget} == {k: paper[k] for k in budget}
    assert "unmeasured" in (CONFIG_DIR / "cifar10_resnet56_modern.yaml").read_text()


def test_the_torchvision_v2_recipe_has_its_published_values():
    """Checked against the blog post "How to Train State-Of-The-Art Models Using TorchVision's
    Latest Primitives" and ResNet50_Weights.IMAGENET1K_V2's metadata."""
    cfg = load_config("imagenet_resnet50_tv2")
    steps_per_epoch = (1_281_167 // 256 * 256) // 8 // 128  # RASampler's epoch on 8 GPUs
    assert steps_per_epoch == 1251
    assert cfg.train.iterations == 600 * steps_per_epoch
    assert cfg.schedule.warmup_iters == 5 * steps_per_epoch
    assert (cfg.schedule.name, cfg.schedule.warmup_start) == ("cosine", 0.01)
    assert (cfg.optim.name, cfg.optim.lr, cfg.optim.momentum) == ("sgd", 0.5, 0.9)
    assert cfg.data.batch_size == 8 * 128 and cfg.optim.scale_lr_with_batch == 1024
    assert cfg.optim.weight_decay == 2e-5 and cfg.optim.no_decay_bn_bias
    assert cfg.optim.label_smoothing == 0.1
    assert (cfg.data.mixup_alpha, cfg.data.cutmix_alpha) == (0.2, 1.0)
    assert cfg.data.auto_augment == "trivialaugment" and cfg.data.random_erase == 0.1
    assert (cfg.data.image_size, cfg.data.eval_image_size, cfg.data.eval_resize) == (176, 224, 232)
    # EMA every 32 steps at 1 - (1 - 0.99998) * 1024 * 32 / 600 per update, as a per-step decay
    per_update = 1 - (1 - 0.99998) * 1024 * 32 / 600
    assert cfg.optim.ema_decay**32 == pytest.approx(per_update, abs=1e-9)
    assert cfg.model.name == "resnet50" and cfg.model.stride_on is None  # v1.5
