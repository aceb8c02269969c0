"""A typeset box: what mathematics becomes before it is drawn (glyphs and rules around a baseline).

``Box`` is shared by the typesetter (``derive.pdf.mathtex`` makes boxes) and the page
(``derive.pdf.document`` draws them). Coordinates are points from the box's origin: the left end
of its baseline, y upwards.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Glyph:
    """One character in one font (a name of ``derive.pdf.fonts.FILES``) at (x, y), ``size``
    points; ``sy`` stretches it vertically (a tall parenthesis)."""

    font: str
    char: str
    x: float
    y: float
    size: float
    sy: float = 1.0


@dataclass(frozen=True)
class Rule:
    """A filled rectangle: fraction bars, the bar of a square root."""

    x: float
    y: float
    w: float
    h: float


@dataclass
class Box:
    """``width``; ``height`` above the baseline and ``depth`` below it (both >= 0)."""

    width: float = 0.0
    height: float = 0.0
    depth: float = 0.0
    glyphs: list = field(default_factory=list)
    rules: list = field(default_factory=list)

    def text(self) -> str:
        """The characters in drawing order (what a PDF's text layer holds)."""
        return "".join(g.char for g in self.glyphs)
