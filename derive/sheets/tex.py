"""Sheet typesetting: LaTeX of names and expressions as a sheet sets them, and line-breakable pieces.

Multi-letter names are upright (``\\mathrm{sigy}``) and products carry ``\\cdot``, so that
``\\mathrm{xy} = x \\cdot y`` never reads as a product of letters. ``tex_tokens`` cuts a long
expression into pieces that may be set on separate lines (mathtext has no line breaking).
"""
from __future__ import annotations

import math
import re

import sympy as sp

from derive.printing.printers import LatexPrinter
from derive.core.rules import RULES, derived, on_change


def tex_name(name: str) -> str:
    """A name as a sheet sets it: one letter in italic (x, w_{0}), several upright
    (\\mathrm{sigy}), so that a name never reads as a product of letters."""
    m = re.fullmatch(r"(\w+?)(?:_(\d+)|\[(\d+)\])", name)
    if m:
        return f"{tex_name(m.group(1))}_{{{m.group(2) or m.group(3)}}}"
    base = name.replace("_", r"\_")
    return base if len(name) == 1 else rf"\mathrm{{{base}}}"


class SheetLatex(LatexPrinter):
    """derive's LaTeX with upright multi-letter names and products written with \\cdot."""

    def __init__(self):
        super().__init__({"mul_symbol": "dot"})

    def _print_Symbol(self, expr, style="plain"):
        return tex_name(expr.name)


_PRINTED = {}          # expression -> its LaTeX: tex_tokens prints the same subtrees again


def _tex(expr) -> str:
    if not isinstance(expr, sp.Basic):         # (Python's 2 == 2.0: never a key)
        return SheetLatex().doprint(expr)
    try:
        return _PRINTED[expr]
    except KeyError:
        pass
    except TypeError:                          # not hashable: printed each time
        return SheetLatex().doprint(expr)
    if len(_PRINTED) >= 20_000:
        _PRINTED.clear()
    out = _PRINTED[expr] = SheetLatex().doprint(expr)
    return out


on_change(_PRINTED.clear)     # a gate registered at run time may print a function otherwise


_HEADS = derived(lambda: {t.__name__: r.latex_head for r in RULES.values() for t in r.sympy_types
                          if r.latex_head})


def tex_tokens(e, limit: int = 60) -> list:
    """LaTeX of ``e`` as pieces that may be set on separate lines (concatenated, they read as
    the whole expression): an Add splits between terms, a Mul between factors, a long
    denominator or function argument inside its parentheses (plain ones: mathtext has no
    line-spanning \\left( \\right))."""
    t = _tex(e)
    if len(t) <= limit or e.is_Atom:
        return [t]
    if isinstance(e, sp.Add):
        out = []
        for k, term in enumerate(e.args):
            neg = term.could_extract_minus_sign()
            sub = tex_tokens(-term if neg else term, limit)
            sub[0] = (("-" if neg else "") if k == 0 else (" - " if neg else " + ")) + sub[0]
            out += sub
        return out
    if isinstance(e, sp.Mul):
        num = [f for f in e.args if not (f.is_Pow and f.exp.is_Number and f.exp < 0)]
        den = [f.base ** -f.exp for f in e.args if f not in num]
        out = []
        for f in num or [sp.S.One]:
            sub = _paren_tokens(f, limit) if isinstance(f, sp.Add) else tex_tokens(f, limit)
            if out:
                sub[0] = r"\, " + sub[0]
            out += sub
        for f in den:
            sub = _paren_tokens(f, limit) if not (f.is_Atom or isinstance(f, sp.Pow)) \
                else tex_tokens(f, limit)
            sub[0] = " / " + sub[0]
            out += sub
        return out
    if isinstance(e, sp.Pow) and e.exp.is_Number:
        sub = _paren_tokens(e.base, limit)
        sub[-1] += f"^{{{_tex(e.exp)}}}"
        return sub
    name = type(e).__name__
    if isinstance(e, sp.Function) and len(e.args) == 1 and name in _HEADS:
        sub = _paren_tokens(e.args[0], limit)
        sub[0] = _HEADS[name] + sub[0]
        return sub
    return [t]


def _paren_tokens(e, limit):
    sub = tex_tokens(e, limit)
    if len(sub) == 1 and (e.is_Atom or isinstance(e, sp.Function)):
        return sub
    sub[0] = "(" + sub[0]
    sub[-1] += ")"
    return sub


def _factor_tex(f) -> str:
    t = _tex(f)
    plain = (f.is_Atom or isinstance(f, sp.Function)) and not f.could_extract_minus_sign()
    return t if plain else rf"\left({t}\right)"


def fmt(v, digits: int = 4) -> str:
    """A number to ``digits`` significant figures (integers stay integers: ``3``, ``-4``)."""
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(fmt(x, digits) for x in v) + "]"
    f = float(v)
    if f == 0:
        return "0"
    if not math.isfinite(f):
        return str(f)
    if f.is_integer() and abs(f) < 10 ** digits:
        return str(int(f))
    return f"{f:.{digits}g}"
