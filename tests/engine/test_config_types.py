"""Sizes say what they are, the schedule decays in a shortened run, every ResNetSpec choice is a
config key, and a run's identity ignores only where it lives."""

from __future__ import annotations

import pytest

from reslab import models
from reslab.engine.config import (
    CONFIG_DIR,
    config_diff,
    config_identity,
    load_config,
    split_size,
)
from reslab.engine.schedule import Schedule, lr_at, milestone_steps
from reslab.engine.setup import model_kwargs
from reslab.errors import ConfigError


# ----------------------------------------------------------------------------- typed sizes
def test_a_count_is_an_int_and_a_fraction_a_float():
    assert load_config("cifar10_resnet20").data.val_size == 5000
    assert isinstance(load_config("cifar10_resnet20").data.val_size, int)
    cfg = load_config("cifar10_resnet20", ["data.val_size=0.1"])
    assert cfg.data.val_size == 0.1 and isinstance(cfg.data.val_size, float)


@pytest.mark.parametrize("bad", [-1, 1.5, 2.5, True, "many"])
def test_a_size_that_is_neither_is_refused(bad):
    with pytest.raises(ConfigError, match="data.val_size"):
        load_config("cifar10_resnet20", {"data.val_size": bad})


def test_metadata_written_before_sizes_were_typed_reads_as_a_count():
    """model.json of older runs holds 5000.0: the count it spells, not a bad fraction."""
    assert split_size(5000.0, "val_size") == 5000
    assert isinstance(split_size(5000.0, "val_size"), int)
    assert split_size(0.1, "val_size") == 0.1


def test_split_seed_is_fixed_apart_from_the_training_seed():
    import torch

    from reslab.engine.distributed import DistInfo
    from reslab.engine.setup import build_data

    def held_out(*overrides: str) -> torch.Tensor:
        cfg = load_config("digits_resnet20", ["data.val_size=100", *overrides])
        data = build_data(cfg, torch.device("cpu"), DistInfo())
        return torch.cat([x.flatten(1) for x, _ in data.evals["val"]])

    a = load_config("cifar10_resnet20", ["train.seed=1"])
    b = load_config("cifar10_resnet20", ["train.seed=2"])
    assert a.data.split_seed == b.data.split_seed == 0
    # the same validation images for every training seed; another split_seed, others
    assert torch.equal(held_out("train.seed=1"), held_out("train.seed=2"))
    assert not torch.equal(held_out("train.seed=1"), held_out("data.split_seed=1"))


def test_paths_start_at_home_as_in_a_shell(monkeypatch, tmp_path):
    """data.root=~/data: the shell leaves a ~ after = as it is, so reslab expands it."""
    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = load_config("cifar10_resnet20", ["data.root=~/data", "out_dir=~/runs"])
    assert cfg.data.root == str(tmp_path / "data") and cfg.run_dir.parent == tmp_path / "runs"


# ----------------------------------------------------------------------------- schedule
def test_a_shortened_paper_run_still_decays_at_half_and_three_quarters():
    cfg = load_config("cifar10_resnet56", ["train.iterations=2000"])
    assert milestone_steps(2000, cfg.schedule) == [1000, 1500]
    rates = [lr_at(s, 2000, cfg.optim.lr, cfg.schedule) for s in (0, 999, 1000, 1499, 1500, 1999)]
    assert rates == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001])


def test_the_full_paper_run_drops_at_32k_and_48k():
    cfg = load_config("cifar10_resnet56")
    assert milestone_steps(64000, cfg.schedule) == [32000, 48000]


def test_milestones_in_iterations_are_refused_with_the_fraction_to_use():
    with pytest.raises(ConfigError, match=r"milestones\[0\].*fraction.*0\.5"):
        load_config("cifar10_resnet56", ["schedule.milestones=[32000, 48000]"])


def test_a_milestone_at_the_end_is_warned_about():
    cfg = load_config("cifar10_resnet56", ["schedule.milestones=[0.5, 1.0]"])
    warnings = Schedule(cfg.schedule, 0.1, 100).warnings()
    assert len(warnings) == 1 and "step 100" in warnings[0] and "never drops" in warnings[0]
    assert Schedule(load_config("cifar10_resnet56").schedule, 0.1, 100).warnings() == []


def test_the_constant_warmup_ends_on_the_training_error_and_is_state():
    cfg = load_config("cifar10_resnet110", ["train.iterations=1000"]).schedule
    sched = Schedule(cfg, 0.1, 1000)
    assert sched.lr(0) == 0.01
    assert sched.observe(20, lambda: 85.0) is None and sched.lr(20) == 0.01
    assert sched.observe(21, lambda: 10.0) is None  # checked every 20 steps only
    assert sched.observe(40, lambda: 79.0) == 79.0 and sched.lr(40) == 0.1
    restored = Schedule(cfg, 0.1, 1000)
    restored.load_state_dict(sched.state_dict())
    assert restored.lr(41) == 0.1


def test_the_constant_warmup_gives_up_after_its_limit():
    cfg = load_config("cifar10_resnet110", ["schedule.warmup_max_iters=30"]).schedule
    sched = Schedule(cfg, 0.1, 1000)
    assert sched.observe(30, lambda: 99.0) == 99.0 and sched.warmup_done


# ----------------------------------------------------------------------------- model keys
def test_the_papers_imagenet_recipe_builds_the_v1_net_and_torchvisions_the_v15():
    paper = load_config(CONFIG_DIR / "imagenet_resnet50.yaml")
    tv = load_config(CONFIG_DIR / "imagenet_resnet50_v15.yaml")
    assert model_kwargs(paper)["stride_on"] == "1x1" and "stride_on" not in model_kwargs(tv)
    a = models.create(paper.model.name, **model_kwargs(paper))
    b = models.create(tv.model.name, **model_kwargs(tv))
    assert a.spec.stride_on == "1x1" and b.spec.stride_on == "3x3"


@pytest.mark.parametrize(
    "override,field,value",
    [
        ("model.stride_on=1x1", "stride_on", "1x1"),
        ("model.preact=true", "preact", True),
        ("model.stem_width=32", "stem_width", 32),
        ("model.shortcut=B", "shortcut", "B"),
    ],
)
def test_every_spec_choice_is_reachable_from_a_config(override, field, value):
    cfg = load_config("digits_resnet20", ["model.name=resnet50", override])
    net = models.create(cfg.model.name, **model_kwargs(cfg))
    assert getattr(net.spec, field) == value


# ----------------------------------------------------------------------------- identity
def test_identity_ignores_where_a_run_lives_but_not_what_it_trains():
    base = load_config("digits_resnet20")
    moved = load_config("digits_resnet20", ["name=elsewhere", "out_dir=/tmp/x", "data.root=/d"])
    other = load_config("digits_resnet20", ["train.iterations=2000"])
    assert config_identity(base) == config_identity(moved)
    assert config_identity(base) != config_identity(other)
    assert config_diff(base, other) == ["train.iterations"]
    assert config_identity(base.to_dict()) == config_identity(base)


def test_a_users_recipe_builds_on_a_shipped_one_and_a_missing_base_names_its_recipe(tmp_path):
    """`_base_: base_cifar.yaml` in a user's own folder is the shipped base; a mistyped one is
    one line naming the recipe that asks for it, with the nearest shipped names."""
    from reslab.engine.config import read_recipe

    (tmp_path / "mine.yaml").write_text("_base_: cifar10_resnet56.yaml\ntrain:\n  iterations: 7\n")
    cfg = load_config(read_recipe(tmp_path / "mine.yaml"), None)
    assert (cfg.model.name, cfg.train.iterations) == ("resnet56", 7)
    (tmp_path / "typo.yaml").write_text("_base_: base_cifr.yaml\n")
    with pytest.raises(ConfigError) as e:
        read_recipe(tmp_path / "typo.yaml")
    assert str(e.value).startswith(f"_base_: base_cifr.yaml in {tmp_path / 'typo.yaml'}: ")
    assert "did you mean base_cifar?" in str(e.value)


def test_yaml_words_and_numbers_on_the_command_line_keep_their_meaning():
    """name=on is a run named "on" (YAML 1.1 read it as true: "name must be a string, got
    True"), name=2024 one named "2024"; a boolean field still takes on/off/yes/no."""
    cfg = load_config(
        "digits_resnet20",
        ["name=on", "out_dir=2024", "train.progress=off", "train.tensorboard=yes"],
    )
    assert (cfg.name, cfg.out_dir) == ("on", "2024")
    assert (cfg.train.progress, cfg.train.tensorboard) == (False, True)
    assert load_config("digits_resnet20", ["train.channels_last=no"]).train.channels_last is False
