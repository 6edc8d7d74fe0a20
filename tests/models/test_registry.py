import pytest

from reslab import models, reference
from reslab.errors import ConfigError
from reslab.models.resnet import ResNetSpec


def test_every_paper_model_is_registered():
    names = set(models.list_models())
    for depth in (20, 32, 44, 56, 110, 1202, 18, 34, 50, 101, 152):
        assert f"resnet{depth}" in names
        assert f"plain{depth}" in names
    for name in (
        "preact_resnet110",
        "preact_resnet164",
        "preact_resnet1001",
        "preact_resnet18",
        "preact_resnet50",
    ):
        assert name in names


def test_duplicate_registration_raises():
    spec = models.get_spec("resnet20")
    with pytest.raises(ValueError, match="already registered"):
        models.register_model("resnet20", spec, num_classes=10)


def test_unknown_name_suggests_closest():
    with pytest.raises(ConfigError, match="did you mean .*resnet56"):
        models.create("resnet65")


def test_unknown_option_is_named():
    with pytest.raises(ConfigError, match="shortcutt"):
        models.create("resnet20", shortcutt="B")


@pytest.mark.parametrize("bad", [{"shortcut": "D"}, {"stride_on": "5x5"}, {"family": "mnist"}])
def test_bad_spec_values_are_refused(bad):
    fields = dict(family="cifar", block="basic", layers=(1, 1, 1), widths=(16, 32, 64))
    fields.update(bad)
    with pytest.raises(ConfigError):
        ResNetSpec(**fields)


def test_filter_glob_and_substring():
    assert models.list_models("plain*") == [
        n for n in models.list_models() if n.startswith("plain")
    ]
    assert "preact_resnet50" in models.list_models("resnet50")


@pytest.mark.parametrize("name", sorted(reference.CIFAR10_TABLE6))
def test_cifar_depth_is_6n_plus_2(name):
    spec = models.get_spec(name)
    assert spec.depth == int(name.removeprefix("resnet"))
    assert spec.layers[0] * 6 + 2 == spec.depth
