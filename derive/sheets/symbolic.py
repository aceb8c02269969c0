"""The symbolic side of a sheet on the page: long derivatives broken across lines, and sizes.

Mathtext has no line breaking, so a derivative is cut into pieces (``sheet.tex_tokens``:
between terms, then factors, then inside parentheses), each measured once and packed
greedily; what still does not fit is shrunk, and what mathtext cannot set becomes text.
"""
from __future__ import annotations

import textwrap

from derive.sheets.tex import tex_name as latex_name
from derive.sheets.mpl import CW, MONO, ROW, _math

INDENT = 0.45          # continuation lines of a long derivative


def broken_lines(flow, lhs, d, maxw, size=12):
    """Lay out ``lhs = d`` over as many lines as needed: [(text, is_math, size, indent)].

    The pieces come from ``tex_tokens``, each measured once and packed greedily; a piece too
    wide for a line alone is shrunk when drawn, and a piece mathtext cannot set becomes text."""
    from derive.sheets.tex import tex_tokens

    def width(tex):
        t = flow.text(0, _math(tex), size)
        try:
            return flow.width(t)
        except ValueError:                     # mathtext could not parse it
            return None
        finally:
            t.remove()

    head = width(lhs + " = ") or 0.0
    for limit in (10 ** 9, 160, 45):  # as whole as fits: the whole, then terms, then factors
        toks = tex_tokens(d, limit)
        widths = [width(tok) for tok in toks]
        if limit == 10 ** 9 and widths[0] is not None and head + widths[0] <= maxw:
            return [(lhs + " = " + toks[0], True, size, 0.0)]
        if limit != 10 ** 9 and all(w is not None and w <= maxw - INDENT for w in widths):
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
            w = width(tok) or w
        cur += tok
        used += w
    if cur:
        lines.append((cur, True, size, indent))
    return lines


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
