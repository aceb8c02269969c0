"""Derivation sheets: what goes on a printable sheet (tables, paths, symbolic side) and variants.

``build_sheet(prog, point)`` collects the content once, as data: the function, the forward
table, the backward table (local gradient, upstream, ``+=`` at forks), the gradient, the total
derivative of each forked value as a sum over paths, and the symbolic derivative with its size.
The engines (``derive.sheets.pages`` for PDFs written directly, ``derive.sheets.source`` for Typst and
LaTeX) only lay it out. ``sheet(...)`` is the public entry point; ``variant_points`` draws the
per-student inputs of ``--variants N --seed S``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import pickle
import re
from dataclasses import dataclass, field

import sympy as sp

from derive.symbolic.budget import DEFAULT_BUDGET, check_budget
from derive.circuit.draw import write_bytes
from derive.core.errors import DeriveError
from derive.core import disk
from derive.printing.printers import CodePrinter
from derive.sheets.arrays import build_array_sheet
from derive.sheets.tex import _HEADS, _factor_tex, _tex, tex_name, tex_tokens  # noqa: F401
from derive.sheets.tex import fmt  # noqa: F401
from derive.sheets.variants import RANGE, array_variants, variant_points  # noqa: F401
from derive.sheets.workers import MAX_EXPR_NODES, MAX_FORKS, MAX_PATHS, MAX_SHOWN_OPS  # noqa: F401
from derive.sheets.workers import Symbolic, fill, symbolic_side
from derive.symbolic.paths import count_paths
from derive.symbolic.paths import forks
from derive.symbolic.paths import paths
from derive.circuit.draw import build as build_circuit
from derive.symbolic.metrics import tree_nodes
from derive.teach.roster import student_seed
from derive.staging.staged import stage
from derive.sheets.pages import warm
from derive.sheets.loops import rolled_sheet, sheet_program
from derive.sheets.pages import pdf_bytes, pdf_each

ENGINES = ("pdf", "typst")
BLANKS = ("all", "values", "formulas")
MAX_SHOWN_NODES = 2_000   # a function larger than this written out is not printed in the header


@dataclass
class Row:
    """One table row; ``blank`` names the cells a worksheet leaves for the learner."""

    cells: dict
    fork: bool = False
    given: bool = False      # the seed ``df = 1``: printed whole on a worksheet too


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
    digits: int = 4                 # significant figures of every number shown
    student: str = ""               # the student's name (a roster), printed on the sheet
    student_id: str = ""

    @property
    def is_worksheet(self):
        return bool(self.blank)


def sum_over_paths(prog, result, known=None, symbolic=True):
    """For each input with more than one path to the output: d f/d input as a sum over the
    paths (``derive.symbolic.paths``), each term a product of local gradients, with its value.
    ``known`` (a dict) keeps the paths found at one point, so that other points (variants)
    only evaluate the terms again. Only the first ``MAX_PATHS`` paths are listed (the count
    comes from ``count_paths``, never by listing them); ``sympy.diff`` checks the sum only when
    every path is listed and ``symbolic`` (the sheet's symbolic side was computed)."""

    known = {} if known is None else known
    numbers = {ln.target: result.values[ln.target.name] for ln in prog.forward}
    numbers.update({s: _input_value(result.point, s.name) for s in prog.inputs})
    found = []
    counts = count_paths(prog)
    for v in forks(prog)[:MAX_FORKS]:
        check = symbolic and counts[v] <= MAX_PATHS
        if v.name not in known:
            known[v.name] = paths(prog, v.name, result.point, limit=MAX_PATHS, symbolic=check)
        td = known[v.name]
        rows = []
        for q in td.paths:
            shown = [f for f in q.factors if f != 1] or [sp.S.One]
            tex = r" \cdot ".join(_factor_tex(f) for f in shown)
            value = float(sp.Mul(*[f.xreplace(numbers) for f in q.factors]))
            rows.append((" → ".join(n.name for n in q.nodes), tex, value))
        total = result.adjoints.get(prog.adjoints[v].name, 0.0) if td.value is not None else None
        found.append({"var": v.name, "total": total, "rows": rows, "agrees": td.agrees and check,
                      "more": td.count - len(td.paths)})
    return found


def _input_value(point, name):
    if "[" in name:
        base, idx = name[:-1].split("[")
        return point[base][int(idx)]
    return point[name]


def build_sheet(prog, result=None, title=None, digits: int = 4, static=None, known=None) -> Sheet:
    """Collect a sheet's content; ``result`` (``prog.run(exact=True, ...)``) gives the numbers,
    each printed to ``digits`` significant figures. ``static`` (``symbolic_side(prog)``) is
    computed once per program and shared by its variants; a ``Symbolic`` still under way
    leaves it to ``fill``."""

    p = CodePrinter()
    args = ", ".join(n for n, _ in prog.params)
    expr = prog.expr()
    fname = prog.output.name
    nodes = tree_nodes([expr])
    if nodes > MAX_SHOWN_NODES:       # printing it would not end: say so, the lines follow
        function_tex = rf"\mathrm{{written\ out,\ {nodes}\ nodes:\ see\ the\ forward\ pass}}"
        src = f"(written out as one expression: {nodes} nodes; see the forward pass)"
    else:
        function_tex = _tex(expr)
        src = prog.source if prog.source and "\n" not in prog.source else p._print(expr)
    vals = result.values if result else {}
    forward = []
    for ln in prog.forward:
        forward.append(Row({"n": f"({ln.number})", "code": p._print(ln),
                            "tex": f"{_tex(ln.target)} = {_tex(ln.rhs)}",
                            "value": fmt(vals[ln.target.name], digits) if result else ""}))
    backward = []
    for k, bl in enumerate(prog.backward):
        op = "+=" if bl.accumulate else "="
        up = "1" if bl.upstream is None else bl.upstream.name
        backward.append(Row({"n": f"({bl.ref})", "code": p._print(bl), "target": f"{bl.target.name} {op}",
                             "local": _tex(bl.local), "local_code": p._print(bl.local),
                             "local_expr": bl.local, "upstream": up,
                             "value": fmt(result.steps[k], digits) if result else ""},
                            fork=bl.accumulate, given=bl.seed))
        if bl.accumulate:
            backward[-1].cells["note"] = f"{bl.var.name} is used {bl.uses} times: gradients add"
    gradient = []
    if result:
        for s in prog.inputs:
            gradient.append((tex_name(s.name), s.name,
                             fmt(result.adjoints.get(prog.adjoints[s].name, 0.0), digits)))
    if isinstance(static, Symbolic):       # under way: ``fill`` puts it in, checks included
        if result:
            static.check_paths(result.point)
        (derivs, sizes, swell), symbolic = ([], {}, ""), False
    else:
        derivs, sizes, swell = static or symbolic_side(prog)
        symbolic = sizes.get("symbolic_status", "ok") == "ok"     # computed, and small enough
    paths = sum_over_paths(prog, result, known, symbolic) if result else []
    point = ", ".join(f"{k} = {fmt(v, digits)}" for k, v in result.point.items()) if result else ""
    notes = list(getattr(result, "notes", []) or []) if result else []
    name = prog.source if prog.source and prog.source.isidentifier() else fname
    circuit = build_circuit(prog, result)
    circuit.digits = digits
    return Sheet(title=title or f"{name}({args})", out=fname, function_tex=function_tex,
                 function_code=f"{fname}({args}) = {src}", point=point, forward=forward,
                 backward=backward, gradient=gradient, paths=paths,
                 symbolic=[(tex_name(s.name), d) for s, d in derivs], sizes=sizes,
                 swell=swell, circuit=circuit, notes=notes, digits=digits)


def sheets_for(prog, point=None, worksheet=False, key=False, variants=0, seed=0,
               blanks="all", digits: int = 4, value_range=RANGE, roster=None,
               budget: float = DEFAULT_BUDGET, meanwhile=None, draw=None) -> list:
    """The list of sheets to print: [worksheet and/or key] for one point, for each variant
    (``point`` is then variant 1) or for each student of a roster (``derive.teach.roster``).
    ``budget``: seconds SymPy gets for the symbolic side (``symbolic_side``), which works in
    workers while the numbers are computed and ``meanwhile()`` runs (the renderer's set-up),
    or ``draw(sheets, ready)`` draws them, calling ``ready()`` (which waits for SymPy and puts
    its answers in) before it draws SymPy's side. Neither is called when SymPy's side came
    from the disk cache."""

    if blanks not in BLANKS:
        raise DeriveError(f"unknown --blanks '{blanks}'; use one of: {', '.join(BLANKS)}")
    if not 1 <= digits <= 17:
        raise DeriveError(f"--digits {digits} is out of range; give 1 to 17 significant figures")
    blank = {"values", "formulas"} if blanks == "all" else {blanks}
    arrays = prog.arrays                       # values are NumPy arrays (derive.staging.arrays)
    if arrays and point is None:
        raise DeriveError("array sheets take the shapes from the values: give --at")
    seeds = None
    if roster:
        variants = len(roster)
        seeds = [student_seed(st.id, st.seed, salt=seed) for st in roster]
    if variants:
        first = point if point is not None and not roster else None
        points = (array_variants(prog, point, variants, seed, value_range, first is not None, seeds)
                  if arrays else variant_points(prog, variants, seed, point, value_range, first, seeds))
        if not worksheet and not key:
            worksheet = key = True
    else:
        points = [point or None]
    static = None if arrays else Symbolic(prog, check_budget(budget))
    try:
        out = _build_all(prog, points, static, worksheet, key, variants, seed, blank, digits,
                         roster, arrays)
        if static is not None and static.working():     # not from the cache: SymPy works
            if draw is not None:
                draw(out, lambda: fill(out, static))
            elif meanwhile is not None:
                meanwhile()
        if static is not None:
            fill(out, static)
    finally:
        if static is not None:
            static.cancel()
    return out


def _build_all(prog, points, static, worksheet, key, variants, seed, blank, digits, roster,
               arrays) -> list:
    known, out = {}, []
    for i, pt in enumerate(points):
        result = prog.run(exact=True, **pt) if pt is not None and not arrays else None
        tag = f"Variant {i + 1} of {len(points)} (seed {seed})" if variants and not roster else ""
        kinds = [("Worksheet", blank)] if worksheet else []
        if key or not worksheet:
            kinds.append(("Answer key" if key or worksheet else "", set()))
        first = None
        for kind, bl in kinds:
            if first is None:
                first = s = (build_array_sheet(prog, pt, digits, later=len(points) == 1) if arrays
                             else build_sheet(prog, result, digits=digits, static=static,
                                              known=known))
            else:                              # the same content, another label
                s = dataclasses.replace(first)
            s.label = " · ".join(x for x in (tag, kind) if x)
            s.blank = set(bl) if pt is not None else set()
            if roster:
                st = roster[i]
                s.student = st.name or st.id
                s.student_id = st.id
            out.append(s)
    return out


def sheet(f, at=None, path=None, worksheet=False, key=False, variants=0, seed=0,
          blanks="all", engine="pdf", split=False, gates="grouped", tex=False,
          digits: int = 4, value_range=RANGE, roster=None, budget: float = DEFAULT_BUDGET,
          cache: bool = True):
    """Write a derivation sheet PDF for ``f`` at ``at`` (a dict); returns the file names written.

    ``variants=N``: N points worked by hand (``at``, if given, is the first); ``roster``: a list
    of ``derive.teach.roster.Student``, one sheet each with the student's name and own values.
    ``budget``: seconds SymPy gets for the symbolic derivative before the sheet says it gave up.
    ``cache=False``: neither read nor write the disk cache (``derive.core.disk``).

    >>> sheet("(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)", at={"x": 3, "y": -4},
    ...       path="sheet.pdf")  # doctest: +SKIP
    """

    if engine not in ENGINES:
        raise DeriveError(f"unknown --engine '{engine}'; use one of: {', '.join(ENGINES)}")
    with contextlib.nullcontext() if cache else disk.disabled():
        return _sheet(f, at, path, worksheet, key, variants, seed, blanks, engine, split, gates,
                      tex, digits, value_range, roster, budget)


def _sheet(f, at, path, worksheet, key, variants, seed, blanks, engine, split, gates, tex,
           digits, value_range, roster, budget):
    prog = sheet_program(stage(f, gates=gates))   # a short rolled loop: unrolled (derive.sheets.loops)
    if path is None:
        raise DeriveError("give an output file name, e.g. -o sheet.pdf")
    if prog.loops:                                # a long one: the rolled sheet
        return rolled_sheet(prog, at, path, digits, worksheet=worksheet, variants=variants, roster=roster,
                            split=split, tex=tex, engine=engine != "pdf")
    draws = engine == "pdf" and not tex
    students = len(roster) if roster else variants
    drawn = []

    def draw(sheets, ready):                   # one PDF: drawn while SymPy works
        drawn.append(pdf_bytes(sheets, ready=ready))

    sheets = sheets_for(prog, at, worksheet, key, variants, seed, blanks, digits, value_range,
                        roster, budget, meanwhile=warm if draws else None,
                        draw=draw if draws and not (split and students) else None)
    stem, ext = os.path.splitext(path)
    if prog.arrays and (tex or engine != "pdf"):
        raise DeriveError("array sheets are drawn by the pdf engine only: "
                          "drop --tex and --engine typst")
    if tex:
        from derive.sheets.source import write_tex

        return write_tex(sheets, stem + ".tex")
    if not (split and students):
        if drawn:
            name = _pdf_key(sheets, engine)
            if name:
                disk.save(name, drawn[0])
        return [write_bytes(path, drawn[0] if drawn else render(sheets, engine))]
    per = len(sheets) // students
    names = []
    for i, s in enumerate(sheets):  # one file per student, the key in its own file
        suffix = "-key" if s.label.endswith("Answer key") and per > 1 else ""
        who = (re.sub(r"[^A-Za-z0-9_.-]+", "_", s.student_id) if roster
               else f"{i // per + 1:0{max(2, len(str(students)))}d}")
        names.append(f"{stem}-{who}{suffix}{ext or '.pdf'}")
    if draws:
        warm()                                 # once, before the drawing processes fork
    return [write_bytes(n, data) for n, data in zip(names, render_each(sheets, engine))]


def render_each(sheets, engine="pdf") -> list:
    """One PDF per sheet (``--split``): each layout is drawn once and its values filled in."""
    if engine == "typst":
        return [render([s], engine) for s in sheets]

    return pdf_each(sheets)


def render(sheets, engine="pdf") -> bytes:
    """PDF bytes of the sheets with the chosen engine; a sheet drawn before (the same content
    to the last number, the same derive and libraries) comes from the disk cache."""
    name = _pdf_key(sheets, engine)
    data = disk.load(name) if name else None
    if isinstance(data, bytes):
        return data
    if engine == "typst":
        from derive.sheets.source import typst_pdf

        data = typst_pdf(sheets)
    else:
        data = pdf_bytes(sheets)
    if name:
        disk.save(name, data)
    return data


def _pdf_key(sheets, engine):
    """The disk cache's name for these sheets' PDF: everything they hold, pickled without
    shared references (the same content gives the same bytes however it was computed), sets
    sorted; None if the cache is off, the engine is not the pdf engine (typst's version is not
    in the key) or the content does not pickle."""
    if not disk.enabled() or engine != "pdf":
        return None
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=4)
    pickler.fast = True                    # no memo: bytes depend on values, not identities
    try:
        pickler.dump([dataclasses.replace(s, blank=sorted(s.blank)) for s in sheets])
    except Exception:                      # a gate registered at run time, a cycle
        return None
    return disk.key("pdf", engine, disk.settings(), buf.getvalue())
