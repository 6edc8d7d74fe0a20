"""Errors that reach a person as one clear line (what is wrong, and what to do)."""

from __future__ import annotations


class ReslabError(Exception):
    """Base class for user-facing errors. The CLI prints ``error: <message>`` and exits 2."""

    exit_code = 2

    def line(self) -> str:
        """The message, also when a DataLoader worker raised the error: torch raises it again in
        the main process with the worker's whole traceback as its message, whose last line
        naming this class holds the error the worker raised."""
        text = str(self)
        if "Original Traceback" not in text:
            return text
        name = type(self).__qualname__
        own = [
            line.split(f"{name}: ", 1)[1]
            for line in text.splitlines()
            if line.startswith((f"{type(self).__module__}.{name}: ", f"{name}: "))
        ]
        lines = [line for line in text.splitlines() if line.strip()]
        return own[-1] if own else lines[-1]


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
