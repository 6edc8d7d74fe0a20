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


@dataclass(frozen=True)
class Figure:
    path: Path
    caption: str


@dataclass(frozen=True)
class Code:
    text: str
    language: str = ""


Block = Heading | Paragraph | BulletList | Table | Figure | Code


@dataclass
class Document:
    title: str
    subtitle: str
    lang: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def figures(self) -> list[Path]:
        return [b.path for b in self.blocks if isinstance(b, Figure)]
