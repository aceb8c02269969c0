"""The symbolic side of a sheet on the page: long derivatives broken across lines, and sizes.

Mathtext has no line breaking, so a derivative is cut into pieces (``sheet.tex_tokens``:
between terms, then factors, then inside parentheses), each measured once and packed
greedily; what still does not fit is shrunk, and what mathtext cannot set becomes text.
"""
from __future__ import annotations

import re
import textwrap

from derive.sheets.tex import tex_name as latex_name
from derive.pdf import mathtex
from derive.sheets.flow import CW, MONO, ROW
from derive.sheets.parts import _math
from derive.sheets.tex import tex_tokens

INDENT = 0.45          # continuation lines of a long derivative


def broken_lines(flow, lhs, d, maxw, size=12):
    """Lay out ``lhs = d`` over as many lines as needed: [(text, is_math, size, indent)].

    The pieces come from ``tex_tokens``, each measured once and packed greedily; a piece too
    wide for a line alone is shrunk when drawn, and a piece mathtext cannot set becomes text.
    Mathtext parses are most of a sheet's time, so nothing is measured twice: the whole line
    is measured only when it may fit (it is then drawn from the same parse), and a piece
    starting a line keeps its width (mathtext ignores the space stripped)."""

    def width(tex):
        try:
            return mathtex.width(_math(tex)[1:-1], size) / 72
        except ValueError:                     # the typesetter cannot set it
            return None

    whole = tex_tokens(d, 10 ** 9)[0]
    if not _surely_wider(whole, size, maxw):
        w = width(lhs + " = " + whole)
        if w is not None and w <= maxw:
            return [(lhs + " = " + whole, True, size, 0.0)]
    head = width(lhs + " = ") or 0.0
    for limit in (160, 45):          # as whole as fits: terms, then factors
        toks = tex_tokens(d, limit)
        widths = [width(tok) for tok in toks]
        if all(w is not None and w <= maxw - INDENT for w in widths):
            break
    lines, cur, used, indent = [], lhs + " = ", head, 0.0
    for tok, w in zip(toks, widths):
        if w is None:
            lines += [(part, False, 7, INDENT) for part in textwrap.wrap(tok, 110)]
            continue
        if used + w > (maxw - indent) * 0.97 and cur:
            lines.append((cur, True, size, indent))
            cur, used, indent = "", 0.0, INDENT
            tok = tok.lstrip()
        cur += tok
        used += w
    if cur:
        lines.append((cur, True, size, indent))
    return lines


def _surely_wider(tex, size, maxw) -> bool:
    """True when ``tex`` set at ``size`` points is surely wider than ``maxw`` inches, so that
    measuring it would be a wasted parse (``_glyph_width``: a lower bound in ems)."""
    return _glyph_width(tex) * size / 72 > maxw


def _glyph_width(tex) -> float:
    """A lower bound of the width of ``tex`` in ems: 0.3 em a glyph (a command one glyph;
    ``\\left``, ``\\mathrm``, braces and spaces none), a fraction as wide as its wider part,
    a script at half size."""
    def group(i):                          # (the text of the {...} group at i, index after)
        if i >= len(tex) or tex[i] != "{":
            return tex[i:i + 1], i + 1
        depth, j = 0, i
        while j < len(tex):
            depth += {"{": 1, "}": -1}.get(tex[j], 0)
            if depth == 0:
                return tex[i + 1:j], j + 1
            j += 1
        return tex[i + 1:], len(tex)

    total, i = 0.0, 0
    while i < len(tex):
        m = re.match(r"\\[A-Za-z]+|\\.", tex[i:])
        if m and m.group() == r"\frac":
            num, i = group(i + 5)
            den, i = group(i)
            total += max(_glyph_width(num), _glyph_width(den))
        elif m:
            total += 0.0 if m.group() in (r"\left", r"\right", r"\mathrm") else 0.3
            i += len(m.group())
        elif tex[i] in "^_":
            sub, i = group(i + 1)
            total += _glyph_width(sub) / 2
        else:
            total += 0.0 if tex[i] in "{} " else 0.3
            i += 1
    return total


def draw_symbolic(flow, s):
    flow.heading("The symbolic side: the derivative as SymPy gives it")
    for tex, d in s.symbolic:
        lhs = rf"\frac{{\partial {latex_name(s.out)}}}{{\partial {tex}}}"
        for text, is_math, size, indent in broken_lines(flow, lhs, d, CW - 0.2):
            tall = r"\frac" in text
            flow.need(ROW * (1.6 if tall else 1.1) if is_math else ROW * 0.7)
            if not is_math:
                flow.text(0.1 + indent, text, size, family=MONO, dy=ROW * 0.6)
                continue
            t = flow.text(0.1 + indent, _math(text), size)
            if not flow.fit(t, CW - 0.1 - indent, 6):
                t.remove()
                for part in textwrap.wrap(text, 110):
                    flow.text(0.1 + indent, part, 7, family=MONO, dy=ROW * 0.6)
                continue
            flow.y -= ROW * (1.5 if tall else 1.15)
        flow.y -= 0.1
    z = s.sizes
    flow.need(ROW * 4)
    sym = (f"{z['symbolic_ops']} operations" if z.get("symbolic_ops") is not None
           else z.get("symbolic_status", "not computed"))
    size = (f"Size: SymPy's gradient {sym}; the staged program "
            f"{z['staged_ops']} ({z['forward_lines']} forward lines, {z['forward_ops']} ops; "
            f"{z['backward_lines']} backward lines, {z['backward_ops']} ops).")
    for text in (size, s.swell):
        for part in textwrap.wrap(text, 105):
            flow.need(ROW)
            flow.fit(flow.text(0.1, part, 8.5, dy=ROW * 0.75), CW - 0.1)
        flow.y -= 0.08
