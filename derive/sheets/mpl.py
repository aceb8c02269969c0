"""The default sheet engine: A4 pages drawn with matplotlib (PdfPages, mathtext in Computer Modern).

Content flows down the page and onto new pages; wide text is measured and shrunk or broken,
never run off the page. Long symbolic derivatives are broken between terms (mathtext has no
line breaking); a term too wide even alone falls back to wrapped code text. Output bytes are
reproducible: fixed PDF metadata, no dates.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from derive.circuit.draw import GREEN, GREY, INK, RED
from derive.sheets.tex import fmt
from derive.sheets.tex import tex_name as latex_name

W, H, M = 8.27, 11.69, 0.6            # A4 portrait, margin (inches)
CW = W - 2 * M
ROW = 0.28
MONO = "DejaVu Sans Mono"
MIN_FONT = 0.75                       # circuit fonts never below 3/4 of their size
CIRCUIT_H = 4.2                       # inches of page height a circuit may take
NUMBER_BLANK = 1.8                    # inches (45.7 mm): room to write a number by hand
BLANK_COLOR = "#707070"               # the colour of number blanks (the geometry tests find them)
FORMULA_COLOR = "#7a7a7a"             # ... and of blanks for a formula
PDF_META = {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": "derive",
            "Title": "derive derivation sheet"}


@dataclass
class Slot:
    """Where a number goes: page index, x and y in points from the page's lower left."""

    page: int
    x: float
    y: float
    ha: str
    va: str
    size: float
    color: str
    get: object                 # get(sheet) -> the text


class Flow:
    """A cursor running down A4 pages; ``need(h)`` starts a new page when h inches don't fit."""

    def __init__(self, pdf, label, sheet=None, slots=None):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.pdf, self.label, self.page, self.fig = pdf, label, 0, None
        self.sheet, self.slots = sheet, slots  # slots: a template, its numbers filled in later
        self.later = []
        self._canvas = FigureCanvasAgg
        self.new_page()

    def new_page(self):
        from matplotlib.figure import Figure

        if self.fig is not None:
            self.pdf.savefig(self.fig)
        self.page += 1
        self.fig = Figure(figsize=(W, H))
        self.renderer = self._canvas(self.fig).get_renderer()
        self.y = H - M
        y, self.y = self.y, 0.35
        self.value(CW / 2, lambda s, n=self.page: footer(s.label if s else self.label, n), 7.5, ha="center",
                   va="baseline", color=GREY)
        self.y = y

    def finish(self):
        self.pdf.savefig(self.fig)
        self.fig = None
        for draw in self.later:                # pages set apart (a landscape circuit)
            draw()
        self.later = []

    def need(self, h) -> bool:
        if self.y - h < M:
            self.new_page()
            return True
        return False

    def text(self, x, s, size=9.5, dy=None, **kw):
        """Put text at (x, cursor) from the left margin; returns the Text (top-anchored)."""
        kw.setdefault("va", "top")
        t = self.fig.text((M + x) / W, self.y / H, s, fontsize=size, **kw)
        if dy:
            self.y -= dy
        return t

    def value(self, x, get, size=9.5, dy=None, **kw):
        """Text that differs between variants (``get(sheet)``): drawn, or in a template
        recorded as a slot (page, x and y in points, alignment, size, colour, getter)."""
        if self.slots is None:
            return self.text(x, get(self.sheet), size, dy=dy, **kw)
        self.slots.append(Slot(self.page - 1, (M + x) * 72, self.y * 72, kw.get("ha", "left"),
                               kw.get("va", "top"), size, kw.get("color", INK), get))
        if dy:
            self.y -= dy

    def width(self, t) -> float:
        text = t.get_text()
        if "$" in text:          # mathtext: measured as the PDF sets it (one parse, shared)
            return _math_parser().parse(text, 72, t.get_fontproperties()).width / 72
        return t.get_window_extent(self.renderer).width / self.fig.dpi

    def fit(self, t, maxw, min_size=5.5):
        """Shrink a text until it is at most ``maxw`` inches wide; False if it cannot."""
        try:
            w = self.width(t)
        except ValueError:                     # mathtext could not parse it
            return False
        size = t.get_fontsize()
        while w > maxw and size > min_size:
            size = max(min_size, size * maxw / w * 0.98)
            t.set_fontsize(size)
            w = self.width(t)
        return w <= maxw

    def heading(self, s):
        self.need(1.1)                         # no heading alone at the foot of a page
        self.y -= 0.12
        self.text(0, s, 11.5, weight="bold", color=INK, dy=0.3)

    def rule(self):
        from matplotlib.lines import Line2D

        self.fig.add_artist(Line2D([M / W, (W - M) / W], [self.y / H] * 2, lw=0.6, color=GREY))
        self.y -= 0.08


@functools.lru_cache(maxsize=1)
def _math_parser():
    from matplotlib.mathtext import MathTextParser

    return MathTextParser("path")


def footer(label, page):
    return f"{label + '  ·  ' if label else ''}derive derivation sheet  ·  page {page}"


def _math(tex: str) -> str:
    """Mathtext draws \\left( \\right) too small around a plain line: use plain parentheses."""
    if r"\frac" not in tex:
        tex = tex.replace(r"\left(", "(").replace(r"\right)", ")")
    return f"${tex}$"


def _cell(flow, x, s, width, size=8.5, math=False, color=INK, family=None, fallback=None):
    """One table cell; math falls back to code text when mathtext can't draw it."""
    if not s:
        return
    kw = {"color": color}
    if family:
        kw["family"] = family
    t = flow.text(x, _math(s) if math else s, size, **kw)
    if not flow.fit(t, width):
        t.remove()
        if fallback is not None:
            t = flow.text(x, fallback, size, family=MONO, color=color)
            flow.fit(t, width, 3.5)


def _blank(flow, x, width, color=BLANK_COLOR):
    from matplotlib.lines import Line2D

    y = (flow.y - ROW * 0.72) / H
    flow.fig.add_artist(Line2D([(M + x) / W, (M + x + width) / W], [y, y], lw=0.7, color=color))


def _table(flow, cols, rows, header, shade=None):
    """cols: [(key, x, width, style)]; rows: list of dicts; style in {code, math, value, text}."""
    from matplotlib.patches import Rectangle

    def head():
        for (key, x, w, style), h in zip(cols, header):
            flow.text(x, h, 8, color=GREY, weight="bold")
        flow.y -= ROW

    flow.need(ROW * 2)
    head()
    for k, row in enumerate(rows):
        if flow.need(ROW):
            head()
        if shade and shade[k]:
            flow.fig.add_artist(Rectangle((M / W, (flow.y - ROW + 0.04) / H), CW / W, ROW / H,
                                          facecolor="#fff3cd", edgecolor="none", zorder=-1))
        for key, x, w, style in cols:
            v = row.get(key)
            if v is None:
                if style in ("value", "grad"):
                    _blank(flow, x, max(w - 0.15, NUMBER_BLANK))
                else:                          # a formula's blank
                    _blank(flow, x, w - 0.15, FORMULA_COLOR)
            elif style == "math":
                _cell(flow, x, v, w - 0.1, 10.5, math=True, fallback=row.get(key + "_code"))
            elif callable(v):                  # a number: filled in per variant
                flow.value(x, v, 8, family=MONO,
                           color=RED if style == "grad" else GREEN if key == "value" else INK)
            elif style == "value":
                _cell(flow, x, v, w - 0.05, 8, family=MONO, color=GREEN if key == "value" else INK)
            elif style == "grad":
                _cell(flow, x, v, w - 0.05, 8, family=MONO, color=RED)
            else:
                _cell(flow, x, v, w - 0.1, 8, family=MONO if style == "code" else None)
        flow.y -= ROW


def _forward(flow, s):
    flow.heading("Forward pass: one gate per line")
    cols = [("n", 0, 0.45, "text"), ("code", 0.45, 2.35, "code"), ("tex", 2.8, 2.3, "math"),
            ("value", 5.1, 1.97, "value")]
    rows = []
    for k, r in enumerate(s.forward):
        c = dict(r.cells)
        c["tex_code"] = c["code"]
        c["value"] = None if "values" in s.blank else lambda sh, k=k: sh.forward[k].cells["value"]
        rows.append(c)
    _table(flow, cols, rows, ["line", "code", "expression", "value"])


def _backward(flow, s):
    flow.heading("Backward pass: adjoint = local gradient × upstream")
    cols = [("n", 0, 0.45, "text"), ("code", 0.45, 2.45, "code"), ("local", 2.9, 1.5, "math"),
            ("upstream", 4.4, 0.7, "code"), ("value", 5.1, 1.97, "grad")]
    rows = []
    for k, r in enumerate(s.backward):
        c = dict(r.cells)
        if "formulas" in s.blank and not r.given:
            c["local"] = None
            up = "" if c["upstream"] == "1" else f" * {c['upstream']}"
            c["code"] = f"{c['target']} ____{up}"
        if "values" in s.blank and not r.given:
            c["value"] = None
        else:
            c["value"] = lambda sh, k=k: sh.backward[k].cells["value"]
        rows.append(c)
    _table(flow, cols, rows, ["line", "code", "local gradient", "upstream", "value"],
           shade=[r.fork for r in s.backward])
    notes = sorted({r.cells["note"] for r in s.backward if r.fork})
    for note in notes:
        flow.need(ROW)
        flow.text(0.45, f"+= (shaded): {note}", 7.5, color=GREY, dy=0.2)
    for note in s.notes:                       # kinks: which subgradient the sheet uses
        flow.need(ROW)
        flow.fit(flow.text(0.45, f"kink at {note}", 7.5, color=GREY, dy=0.2), CW - 0.5)


def _gradient(flow, s):
    if not s.gradient:
        return
    flow.heading("The gradient")
    for i, (tex, code, value) in enumerate(s.gradient):
        flow.need(ROW * 1.3)
        _cell(flow, 0.1, rf"\frac{{\partial {latex_name(s.out)}}}{{\partial {tex}}} =", 1.6, 11, math=True,
              fallback=f"df/d{code} =")
        if "values" in s.blank:
            flow.y -= 0.1
            _blank(flow, 1.3, NUMBER_BLANK + 0.2)
            flow.y += 0.1
        else:
            flow.y -= 0.07
            flow.value(1.3, lambda sh, i=i: sh.gradient[i][2], 9.5, family=MONO, color=RED)
            flow.y += 0.07
        flow.y -= ROW * 1.5


def _paths(flow, s):
    if not s.paths:
        return
    flow.heading("Where a value forks: the total derivative is a sum over paths")
    for b, block in enumerate(s.paths):
        flow.need(ROW * 3)
        n = len(block["rows"]) + block["more"]
        flow.text(0, f"∂{s.out}/∂{block['var']} = the sum over the {n} paths from {block['var']} to {s.out} "
                     "of the product of the local gradients along the path:", 8.5, dy=ROW)
        rows = []
        for r, (path, tex, value) in enumerate(block["rows"]):
            rows.append({"path": path, "tex": tex, "tex_code": "", "value": None
                         if "values" in s.blank else lambda sh, b=b, r=r: _term(sh, b, r)})
            if "formulas" in s.blank:
                rows[-1]["tex"] = None
        cols = [("path", 0.2, 2.2, "code"), ("tex", 2.4, 2.7, "math"), ("value", 5.1, 1.97, "grad")]
        _table(flow, cols, rows, ["path", "product of local gradients", "term"])
        if block["more"]:
            flow.text(0.2, f"... and {block['more']} more paths", 8, color=GREY, dy=ROW)
        if "values" not in s.blank and block["total"] is not None:
            flow.value(0.2, lambda sh, b=b: _sum_line(sh, b), 8, family=MONO, color=RED,
                       dy=ROW * 0.9)
        if not s.is_worksheet and block.get("agrees"):
            flow.text(0.2, "the sum of the terms, written out in the inputs, equals sympy.diff",
                      7.5, color=GREY, dy=ROW)
        flow.y -= 0.1


def _term(s, b, r):
    return fmt(s.paths[b]["rows"][r][2], s.digits)


def _sum_line(s, b):
    block = s.paths[b]
    total = fmt(math.fsum(r[2] for r in block["rows"]), s.digits)
    given = f"the backward pass gives d{block['var']} = {fmt(block['total'], s.digits)}"
    return given if block["more"] else f"sum = {total}   ({given})"


def title_line(flow, s):
    """The sheet's title and its label (variant, worksheet or key) at the right."""
    flow.text(0, "Derivation sheet", 16, weight="bold")
    if s.label:
        flow.value(CW, lambda sh: sh.label, 10, ha="right", color=RED if "key" in s.label else INK)


def _header(flow, s):
    title_line(flow, s)
    flow.y -= 0.4
    flow.rule()
    flow.y -= 0.05
    if not _fits_math(flow, s):
        flow.text(0, s.function_code, 9, family=MONO, dy=ROW)
    if s.point:
        flow.value(0, lambda sh: "at " + sh.point, 10, family=MONO, dy=ROW * 1.2)
    name_line(flow, s)
    if s.is_worksheet:
        what = ("the values in the forward pass, then the backward pass" if "values" in s.blank
                else "the local gradients of the backward pass")
        flow.text(0, f"Fill in the blanks: {what} line by line from the output back.", 8.5,
                  color=GREY, dy=ROW)


def name_line(flow, s):
    """The student's name (a roster) or a line to write it on (a worksheet)."""
    if s.student:
        flow.value(0, lambda sh: f"Name: {sh.student}" + (f"   (id {sh.student_id})"
                                                          if sh.student_id != sh.student else ""),
                   10, dy=ROW * 1.4)
    elif s.is_worksheet:
        flow.text(0, "Name: " + "_" * 30, 10, dy=ROW * 1.4)


def _fits_math(flow, s):
    name, args = s.title.split("(", 1)
    t = flow.text(0, _math(f"{latex_name(name)}({args} = " + s.function_tex), 15)
    if flow.fit(t, CW, 8):
        flow.y -= 0.55
        return True
    t.remove()
    return False
