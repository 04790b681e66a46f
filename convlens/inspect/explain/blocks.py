"""The pieces an explanation is made of, independent of the output format.

The narrator (:mod:`.narrate`) turns a recorded step into a list of blocks; the renderers
(:mod:`.render`) turn blocks into terminal text, Markdown or HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Heading:
    text: str
    level: int = 2          # 1 title, 2 section, 3 layer, 4 part of a layer


@dataclass
class Paragraph:
    text: str


@dataclass
class Formula:
    """One or more lines of arithmetic, shown in a fixed-width font."""

    text: str


@dataclass
class Array:
    """A labelled array, already written out as aligned rows (see ``numbers.matrix``)."""

    label: str
    text: str


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)


Block = Heading | Paragraph | Formula | Array | Table
