"""The parts of a scalar sheet on the page flow: header, tables, gradient, paths.

Each part draws on ``derive.sheets.flow``'s cursor: the forward and backward tables (one line
per gate, formulas typeset, numbers in code type), the gradient, the sums over paths. A
formula the typesetter cannot set falls back to its code text.
"""
from __future__ import annotations

import math

from derive.circuit.draw import GREEN, GREY, INK, RED
from derive.sheets.flow import (BLANK_COLOR, CW, FORMULA_COLOR, MONO, NUMBER_BLANK, ROW,
                                footer)  # noqa: F401
from derive.sheets.tex import fmt
from derive.sheets.tex import tex_name as latex_name


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
    flow.line(x, x + width, flow.y - ROW * 0.72, 0.7, color)


def _table(flow, cols, rows, header, shade=None):
    """cols: [(key, x, width, style)]; rows: list of dicts; style in {code, math, value, text}."""
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
            flow.shade(flow.y + 0.04, ROW)
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
        _cell(flow, 0.1, rf"\displaystyle\frac{{\partial {latex_name(s.out)}}}{{\partial {tex}}} =", 1.6, 11, math=True,
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
    t = flow.text(0, _math(rf"\displaystyle {latex_name(name)}({args} = " + s.function_tex), 15)
    if flow.fit(t, CW, 8):
        flow.y -= max(0.55, t.height + 0.12)
        return True
    t.remove()
    return False
