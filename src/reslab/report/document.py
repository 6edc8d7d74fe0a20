"""A report as a flat list of blocks, rendered to HTML and Markdown by reslab.report.render.

Sections build blocks; they never write markup. That keeps the two outputs in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class Heading:
    text: str
    level: Literal[2, 3] = 2


@dataclass(frozen=True)
class Paragraph:
    text: str
    lead: str = ""
    """Bold words before the text (for example "The paper's claim:")."""
    style: Literal["plain", "verdict", "claim", "note"] = "plain"


@dataclass(frozen=True)
class BulletList:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: frozenset[int] = frozenset()
    """Column indices to right-align."""
    prose: bool = False
    """Cells hold sentences that may wrap (numeric tables keep each cell on one line)."""


@dataclass(frozen=True)
class Figure:
    path: Path
    caption: str
    extra: tuple[Path, ...] = ()
    """Further panels of the same figure, each its own image (they stack on a narrow screen)."""

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.path, *self.extra)


@dataclass(frozen=True)
class Code:
    text: str
    language: str = ""


@dataclass(frozen=True)
class Details:
    """A part shown collapsed in HTML until opened (the appendix); a plain part in Markdown."""

    summary: str
    blocks: tuple[Heading | Paragraph | BulletList | Table | Figure | Code, ...]


Block = Heading | Paragraph | BulletList | Table | Figure | Code | Details


@dataclass
class Document:
    title: str
    subtitle: str
    lang: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def figures(self) -> list[Path]:
        inner = [x for b in self.blocks if isinstance(b, Details) for x in b.blocks]
        return [p for b in (*self.blocks, *inner) if isinstance(b, Figure) for p in b.paths]
