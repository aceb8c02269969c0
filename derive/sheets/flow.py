"""The page flow of a sheet: a cursor running down A4 pages of a ``derive.pdf`` document.

Content flows down the page and onto new pages; wide text is measured and shrunk, never run
off the page. Positions are inches: x from the left margin, the cursor ``y`` from the page's
bottom. A text whose string is ``$...$`` is mathematics, typeset by ``derive.pdf.mathtex``;
one it cannot set reports itself unfit (``fit`` is False) so the caller falls back to code.
"""
from __future__ import annotations

from derive.pdf import fonts, mathtex
from derive.pdf.document import Document

W, H, M = 8.27, 11.69, 0.6            # A4 portrait, margin (inches)
CW = W - 2 * M
ROW = 0.28
MONO = "DejaVu Sans Mono"
MIN_FONT = 0.75                       # circuit fonts never below 3/4 of their size
CIRCUIT_H = 4.2                       # inches of page height a circuit may take
NUMBER_BLANK = 1.8                    # inches (45.7 mm): room to write a number by hand
BLANK_COLOR = "#707070"               # the colour of number blanks (the geometry tests find them)
FORMULA_COLOR = "#7a7a7a"             # ... and of blanks for a formula
INK, GREY = "#222222", "#6b6b6b"
PT = 72.0                             # points per inch


def font_of(family=None, weight=None, style=None) -> str:
    """The ``derive.pdf.fonts`` name for matplotlib-style font keywords."""
    if family in (MONO, "mono", "monospace"):
        return "mono"
    if weight == "bold":
        return "sans-bold"
    if style in ("italic", "oblique"):
        return "sans-oblique"
    return "sans"


class Placed:
    """A text or formula on the flow's page, redrawn at another size by ``Flow.fit``."""

    def __init__(self, flow, x, y, s, size, font, color, ha, va):
        self.flow, self.page = flow, flow.pg
        self.x, self.y, self.s, self.font, self.color, self.ha, self.va = x, y, s, font, color, ha, va
        self.item = None
        self.draw(size)

    @property
    def math(self) -> bool:
        return len(self.s) > 1 and self.s[0] == "$" and self.s[-1] == "$"

    def draw(self, size):
        self.remove()
        self.size = size
        x, y = (M + self.x) * PT, self.y * PT
        if self.math:
            try:
                box = mathtex.typeset(self.s[1:-1], size)
            except ValueError:
                self.width = self.height = None    # cannot set it: the caller falls back
                return
            self.item = self.page.box(x, y, box, color=self.color, ha=self.ha, va=self.va,
                                      source=self.s)
            self.width, self.height = box.width / PT, (box.height + box.depth) / PT
        else:
            self.item = self.page.text(x, y, self.s, size, font=self.font, color=self.color,
                                       ha=self.ha, va=self.va)
            self.width = fonts.width(self.font, self.s, size) / PT
            f = fonts.font(self.font)
            self.height = (f.ascent + f.descent) * size / PT

    def remove(self):
        if self.item is not None:
            self.page.remove(self.item)
            self.item = None


class Flow:
    """A cursor running down A4 pages; ``need(h)`` starts a new page when h inches don't fit."""

    def __init__(self, doc: Document, label, sheet=None):
        self.doc, self.label, self.page, self.pg = doc, label, 0, None
        self.sheet, self.later = sheet, []
        self.new_page()

    def new_page(self):
        self._close()
        self.page += 1
        self.pg = self.doc.page(W * PT, H * PT)
        self.y = H - M

    def _close(self):
        """The footer of the page ending, drawn last so that the text layer reads it last."""
        if self.pg is not None:
            label = self.sheet.label if self.sheet else self.label
            self.pg.text((M + CW / 2) * PT, 0.35 * PT, footer(label, self.page), 7.5,
                         color=GREY, ha="center")

    def new_landscape(self):
        """A landscape A4 page of its own (a wide circuit), counted as the next page."""
        self.page += 1
        return self.doc.page(H * PT, W * PT)

    def finish(self):
        self._close()
        self.pg = None
        for draw in self.later:                # pages set apart (a landscape circuit)
            draw()
        self.later = []

    def need(self, h) -> bool:
        if self.y - h < M:
            self.new_page()
            return True
        return False

    def text(self, x, s, size=9.5, dy=None, color=INK, ha="left", va="top", family=None,
             weight=None, style=None):
        """Put text at (x, cursor) from the left margin; returns it (top-anchored)."""
        t = Placed(self, x, self.y, s, size, font_of(family, weight, style), color, ha, va)
        if dy:
            self.y -= dy
        return t

    def value(self, x, get, size=9.5, dy=None, **kw):
        """A number of this sheet's own (``get(sheet)``: it differs between variants)."""
        return self.text(x, get(self.sheet), size, dy=dy, **kw)

    def fit(self, t, maxw, min_size=5.5):
        """Shrink a text until it is at most ``maxw`` inches wide; False if it cannot."""
        if t.width is None:
            return False
        if t.width > maxw and t.size > min_size:
            t.draw(max(min_size, t.size * maxw / t.width * 0.995))
        return t.width is not None and t.width <= maxw + 1e-9

    def line(self, x0, x1, y, width=0.7, color=GREY):
        """A horizontal line from x0 to x1 inches (from the margin) at height y inches."""
        self.pg.line([((M + x0) * PT, y * PT), ((M + x1) * PT, y * PT)], width=width, color=color)

    def shade(self, y, h, color="#fff3cd"):
        """A band across the text width from y - h to y (behind what is drawn after it)."""
        self.pg.rect(M * PT, (y - h) * PT, CW * PT, h * PT, fill=color)

    def heading(self, s):
        self.need(1.1)                         # no heading alone at the foot of a page
        self.y -= 0.12
        self.text(0, s, 11.5, weight="bold", color=INK, dy=0.3)

    def rule(self):
        self.line(0, CW, self.y, 0.6)
        self.y -= 0.08


def footer(label, page):
    return f"{label + '  ·  ' if label else ''}derive derivation sheet  ·  page {page}"
