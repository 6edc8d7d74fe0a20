"""Every shipped recipe loads, and config mistakes are named."""

from pathlib import Path

import pytest

from reslab.engine.config import CONFIG_DIR, Config, load_config
from reslab.errors import ConfigError

RECIPES = sorted(CONFIG_DIR.glob("*.yaml"))


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


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_every_recipe_loads(path):
    cfg = load_config(path)
    assert isinstance(cfg, Config)
    if path.stem.startswith("cifar10_"):
        assert cfg.optim.lr == 0.1 and cfg.data.batch_size == 128
        # the paper's 32k and 48k of 64k iterations, as fractions so a shorter run decays too
        assert cfg.schedule.milestones == [0.5, 0.75] and cfg.train.iterations == 64000
        assert cfg.model.name == path.stem.removeprefix("cifar10_")


def test_resnet110_recipe_has_the_papers_warmup():
    cfg = load_config(CONFIG_DIR / "cifar10_resnet110.yaml")
    assert cfg.schedule.warmup_lr == 0.01 and cfg.schedule.warmup_until_train_error == 80.0


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
