"""Derivation sheets: what goes on a printable sheet (tables, paths, symbolic side) and variants.

``build_sheet(prog, point)`` collects the content once, as data: the function, the forward
table, the backward table (local gradient, upstream, ``+=`` at forks), the gradient, the total
derivative of each forked value as a sum over paths, and the symbolic derivative with its size.
The engines (``derive.sheet_mpl`` for matplotlib PDFs, ``derive.sheet_source`` for Typst and
LaTeX) only lay it out. ``sheet(...)`` is the public entry point; ``variant_points`` draws the
per-student inputs of ``--variants N --seed S``.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from derive import naming
from derive.circuit import write_bytes
from derive.errors import DeriveError
from derive.printing import CodePrinter, LatexPrinter, _fmt
from derive.rules import RULES, derived
from derive.sheet_arrays import array_variants, build_array_sheet

ENGINES = ("matplotlib", "typst")
BLANKS = ("all", "values", "formulas")
MAX_PATHS = 12       # paths listed per forked input
MAX_FORKS = 4        # forked inputs given a sum over paths


@dataclass
class Row:
    """One table row; ``blank`` names the cells a worksheet leaves for the learner."""

    cells: dict
    fork: bool = False


@dataclass
class Sheet:
    """Everything one sheet shows, already printed as text and LaTeX."""

    title: str
    function_tex: str
    function_code: str
    point: str
    forward: list
    backward: list
    gradient: list                  # [(latex name, code name, value text)]
    paths: list                     # [{"var", "total", "rows": [(path, tex, value)], "more"}]
    symbolic: list                  # [(input latex, derivative expr)]
    sizes: dict
    swell: str
    circuit: object = None
    label: str = ""                 # "Worksheet", "Answer key", "Variant 2 of 5 (seed 7)"
    out: str = "f"                  # the output's name (the partials are d out / d input)
    blank: set = field(default_factory=set)   # {"values", "formulas"} left for the learner
    notes: list = field(default_factory=list)   # kinks hit at the point (and the convention)

    @property
    def is_worksheet(self):
        return bool(self.blank)


def _tex(expr) -> str:
    return LatexPrinter().doprint(expr)


def symbolic_side(prog):
    """[(input, d f/d input as SymPy gives it)] and the sizes beside the staged program's
    (``derive.symbolic`` and ``derive.metrics``, measured as ``derive compare`` does)."""
    from derive.metrics import count_ops, program_metrics
    from derive.symbolic import gradient

    grad = gradient(prog)
    derivs = [(s, grad[s.name]) for s in prog.inputs]
    sym_ops = count_ops(grad.values())
    staged = program_metrics(prog)
    sizes = {"symbolic_ops": sym_ops, "staged_ops": staged["ops"],
             **{k: staged[k] for k in ("forward_ops", "backward_ops", "forward_lines",
                                       "backward_lines")}}
    ratio = sym_ops / staged["ops"] if staged["ops"] else float("inf")
    head = (f"SymPy's gradient takes {sym_ops} operations for {len(derivs)} partial "
            f"derivative{'s' * (len(derivs) != 1)}, the staged program {staged['ops']} "
            f"({sizes['forward_ops']} forward + {sizes['backward_ops']} backward) for the value "
            f"and the whole gradient: ")
    if ratio > 1.15:
        swell = head + (f"the symbolic form is {ratio:.1f} times as large, because it writes "
                        "shared subexpressions out again in every term instead of naming them once.")
    else:
        swell = head + (f"here the symbolic form is no larger ({ratio:.1f} times), because this "
                        "function is small and shares little; the gap opens as functions get "
                        "deeper and values fork more.")
    return derivs, sizes, swell


def sum_over_paths(prog, result):
    """For each input with more than one path to the output: d f/d input as a sum over the
    paths (``derive.paths``), each term a product of local gradients, with its value."""
    from derive.paths import forks, paths

    found = []
    for v in forks(prog)[:MAX_FORKS]:
        td = paths(prog, v.name, result.point, limit=MAX_PATHS)
        rows = []
        for q in td.paths:
            shown = [f for f in q.factors if f != 1] or [sp.S.One]
            tex = r" \cdot ".join(_factor_tex(f) for f in shown)
            rows.append((" → ".join(n.name for n in q.nodes), tex, q.value))
        found.append({"var": v.name, "total": td.value, "rows": rows, "agrees": td.agrees,
                      "more": td.count - len(td.paths)})
    return found


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


def build_sheet(prog, result=None, title=None) -> Sheet:
    """Collect a sheet's content; ``result`` (``prog.run(exact=True, ...)``) gives the numbers."""
    from derive.circuit import build as build_circuit

    p = CodePrinter()
    args = ", ".join(n for n, _ in prog.params)
    expr = prog.expr()
    fname = prog.output.name
    src = prog.source if prog.source and "\n" not in prog.source else p._print(expr)
    vals = result.values if result else {}
    forward = []
    for ln in prog.forward:
        forward.append(Row({"n": f"({ln.number})", "code": p._print(ln),
                            "tex": f"{_tex(ln.target)} = {_tex(ln.rhs)}",
                            "value": _fmt(vals[ln.target.name]) if result else ""}))
    backward = []
    for k, bl in enumerate(prog.backward):
        op = "+=" if bl.accumulate else "="
        up = "1" if bl.upstream is None else bl.upstream.name
        backward.append(Row({"n": f"({bl.ref})", "code": p._print(bl), "target": f"{bl.target.name} {op}",
                             "local": _tex(bl.local), "local_code": p._print(bl.local),
                             "local_expr": bl.local,
                             "upstream": up, "value": _fmt(result.steps[k]) if result else ""},
                            fork=bl.accumulate))
        if bl.accumulate:
            backward[-1].cells["note"] = f"{bl.var.name} is used {bl.uses} times: gradients add"
    gradient = []
    if result:
        for s in prog.inputs:
            gradient.append((naming.latex_name(s.name), s.name,
                             _fmt(result.adjoints.get(prog.adjoints[s].name, 0.0))))
    derivs, sizes, swell = symbolic_side(prog)
    paths = sum_over_paths(prog, result) if result else []
    point = ", ".join(f"{k} = {_fmt(v)}" for k, v in result.point.items()) if result else ""
    notes = list(getattr(result, "notes", []) or []) if result else []
    name = prog.source if prog.source and prog.source.isidentifier() else fname
    return Sheet(title=title or f"{name}({args})", out=fname, function_tex=_tex(expr),
                 function_code=f"{fname}({args}) = {src}", point=point, forward=forward,
                 backward=backward, gradient=gradient, paths=paths,
                 symbolic=[(naming.latex_name(s.name), d) for s, d in derivs], sizes=sizes,
                 swell=swell, circuit=build_circuit(prog, result), notes=notes)


def variant_points(prog, n: int, seed: int, around: dict | None = None) -> list:
    """N different points where the program evaluates: small integers (one decimal if ``around``
    has non-integers), drawn with ``numpy.random.default_rng(seed)``."""
    if n < 1 or n > 500:
        raise DeriveError("--variants must be between 1 and 500")
    rng = np.random.default_rng(seed)
    decimals = any(isinstance(v, float) and not float(v).is_integer()
                   for v in _flat((around or {}).values()))
    points, seen = [], set()
    for _ in range(200 * n):
        pt = {}
        for name, size in prog.params:
            draw = (lambda: round(float(rng.uniform(-3, 3)), 1)) if decimals else \
                   (lambda: int(rng.choice([-4, -3, -2, -1, 1, 2, 3, 4])))
            pt[name] = draw() if size is None else [draw() for _ in range(size)]
        key = repr(pt)
        if key in seen:
            continue
        try:
            r = prog.run(exact=True, **pt)
        except DeriveError:
            continue
        if not all(math.isfinite(v) for v in _flat([r.value] + list(r.grad.values()))):
            continue
        seen.add(key)
        points.append(pt)
        if len(points) == n:
            return points
    raise DeriveError(f"could not find {n} different points where the function is defined; "
                      "give fewer --variants")


def _flat(values):
    for v in values:
        if isinstance(v, (list, tuple)):
            yield from v
        else:
            yield v


def sheets_for(prog, point=None, worksheet=False, key=False, variants=0, seed=0,
               blanks="all") -> list:
    """The list of sheets to print: [worksheet and/or key] for one point or for each variant."""
    if blanks not in BLANKS:
        raise DeriveError(f"unknown --blanks '{blanks}'; use one of: {', '.join(BLANKS)}")
    blank = {"values", "formulas"} if blanks == "all" else {blanks}
    arrays = hasattr(prog, "param_names")      # an ArrayProgram (derive.vector)
    if arrays and point is None:
        raise DeriveError("array sheets take the shapes from the values: give --at")
    if variants:
        points = (array_variants(prog, point, variants, seed) if arrays
                  else variant_points(prog, variants, seed, point))
        if not worksheet and not key:
            worksheet = key = True
    else:
        points = [point or None]
    out = []
    for i, pt in enumerate(points):
        result = prog.run(exact=True, **pt) if pt is not None and not arrays else None
        tag = f"Variant {i + 1} of {len(points)} (seed {seed})" if variants else ""
        kinds = [("Worksheet", blank)] if worksheet else []
        if key or not worksheet:
            kinds.append(("Answer key" if key or worksheet else "", set()))
        for kind, bl in kinds:
            s = build_array_sheet(prog, pt) if arrays else build_sheet(prog, result)
            s.label = " · ".join(x for x in (tag, kind) if x)
            s.blank = set(bl) if pt is not None else set()
            out.append(s)
    return out


def sheet(f, at=None, path=None, worksheet=False, key=False, variants=0, seed=0,
          blanks="all", engine="matplotlib", split=False, gates="grouped", tex=False):
    """Write a derivation sheet PDF for ``f`` at ``at`` (a dict); returns the file names written.

    >>> sheet("(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)", at={"x": 3, "y": -4},
    ...       path="sheet.pdf")  # doctest: +SKIP
    """
    from derive.staged import stage

    if engine not in ENGINES:
        raise DeriveError(f"unknown --engine '{engine}'; use one of: {', '.join(ENGINES)}")
    prog = stage(f, gates=gates)
    if path is None:
        raise DeriveError("give an output file name, e.g. -o sheet.pdf")
    sheets = sheets_for(prog, at, worksheet, key, variants, seed, blanks)
    stem, ext = os.path.splitext(path)
    if hasattr(prog, "param_names") and (tex or engine != "matplotlib"):
        raise DeriveError("array sheets are drawn by the matplotlib engine only: "
                          "drop --tex and --engine typst")
    if tex:
        from derive.sheet_source import write_tex

        return write_tex(sheets, stem + ".tex")
    if not (split and variants):
        return [write_bytes(path, render(sheets, engine))]
    written, per = [], len(sheets) // variants
    for i, s in enumerate(sheets):  # one file per student, the key in its own file
        suffix = "-key" if s.label.endswith("Answer key") and per > 1 else ""
        out = f"{stem}-{i // per + 1:02d}{suffix}{ext or '.pdf'}"
        written.append(write_bytes(out, render([s], engine)))
    return written


def render(sheets, engine="matplotlib") -> bytes:
    """PDF bytes of the sheets with the chosen engine."""
    if engine == "typst":
        from derive.sheet_source import typst_pdf

        return typst_pdf(sheets)
    from derive.sheet_mpl import pdf_bytes

    return pdf_bytes(sheets)
