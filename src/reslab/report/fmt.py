"""How numbers are written in reports: one place, so tables and sentences agree."""

from __future__ import annotations

import math
from typing import Any

MISSING = "—"
"""Shown where a value was not stored (language-neutral)."""


def stat(value: Any) -> tuple[float | None, float | None, int | None]:
    """(mean, std, n) from a {"mean","std","n"} dict or a bare number; Nones where absent."""
    if isinstance(value, dict):
        return _float(value.get("mean")), _float(value.get("std")), _int(value.get("n"))
    return _float(value), None, None


def pct(value: Any, digits: int = 2) -> str:
    """An error in percent, without the % sign (the column header carries the unit)."""
    x = _float(value)
    return MISSING if x is None else f"{x:.{digits}f}"


def mean_std(value: Any, digits: int = 2) -> str:
    """ "12.34 ± 0.56" over seeds; a lone value where there is one seed or no spread stored."""
    mean, std, n = stat(value)
    if mean is None:
        return MISSING
    if std is None or (n is not None and n < 2):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def gap(value: Any, std: Any = None) -> str:
    """A signed difference in points, "+3.10 ± 0.40"."""
    x, s = _float(value), _float(std)
    if x is None:
        return MISSING
    return f"{x:+.2f}" if s is None else f"{x:+.2f} ± {s:.2f}"


def df(value: Any) -> str:
    """Welch's degrees of freedom to two decimals, trailing zeros dropped: 2.0 -> "2",
    1.04 -> "1.04" (one decimal made a df of 1.04 read as 1.0 beside its t of 11.59)."""
    x = _float(value)
    return MISSING if x is None else f"{round(x, 2):g}"


def count(value: Any) -> str:
    """Parameter counts and the like, as the paper writes them: 270000 -> "0.27M", 4500 -> "4.5k"."""
    x = _float(value)
    if x is None:
        return MISSING
    if abs(x) >= 1e5:
        return f"{x / 1e6:.2f}M"
    if abs(x) >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.0f}"


def flops(value: Any) -> str:
    """Forward FLOPs: 8.1e7 -> "81.0M", 8.18e9 -> "8.18G"."""
    x = _float(value)
    if x is None:
        return MISSING
    if abs(x) >= 1e9:
        return f"{x / 1e9:.2f}G"
    if abs(x) >= 1e6:
        return f"{x / 1e6:.1f}M"
    return count(x)


def sig(value: Any, digits: int = 3) -> str:
    """A positive quantity of any scale (gradient norms, response stds), 3 significant digits."""
    x = _float(value)
    if x is None:
        return MISSING
    text = f"{x:#.{digits}g}"  # '#' keeps trailing zeros: 0.600, not 0.6
    return text.rstrip(".") if "e" not in text else text


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _int(value: Any) -> int | None:
    x = _float(value)
    return None if x is None else int(x)
