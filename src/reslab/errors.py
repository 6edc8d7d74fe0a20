"""Errors that reach a person as one clear line (what is wrong, and what to do)."""

from __future__ import annotations


class ReslabError(Exception):
    """Base class for user-facing errors. The CLI prints ``error: <message>`` and exits 2."""

    exit_code = 2


class ConfigError(ReslabError):
    """A config file or override names an unknown key or holds a bad value."""


class DataError(ReslabError):
    """A dataset, archive or image cannot be found, verified or decoded."""


class WeightsError(ReslabError):
    """A weights file or checkpoint does not fit the model or cannot be read safely."""


class CheckpointError(WeightsError):
    """No valid checkpoint could be loaded."""


class TrainingError(ReslabError):
    """Training cannot go on (for example a NaN loss)."""
