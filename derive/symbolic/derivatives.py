"""Full symbolic derivatives: the gradient by ``sympy.diff`` in four forms, Jacobians, their sizes.

The forms are ``raw`` (what ``sympy.diff`` returns), ``simplified`` (``sympy.simplify``),
``expanded`` (``sympy.expand``) and ``cse`` (``sympy.cse``: common subexpressions pulled
out as ``x0 = ...`` lines). Each is produced in a worker under a time budget
(``derive.symbolic.budget``): a form that takes too long is reported as "gave up after N s".
The worker also measures the form (``derive.symbolic.metrics``) and evaluates it at the given points
(printed code run with mpmath, with enough digits for the form's largest coefficient).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import mpmath
import sympy as sp

from derive.symbolic.budget import DEFAULT_BUDGET, Outcome, check_budget, within
from derive.core.errors import DeriveError
from derive.symbolic.metrics import cse_metrics, expression_metrics
from derive.core.numerics import MPMATH_NS
from derive.staging.codegen import lines_source
from derive.staging.staged import stage

FORMS = ("raw", "simplified", "expanded", "cse")


@dataclass
class Form:
    """One form of the gradient: how long it took, its size, its values at the check points."""

    name: str
    status: str = "ok"               # "ok", "gave up after N s", "skipped: ...", "error: ..."
    seconds: float | None = None      # time to produce the form (not to measure it)
    metrics: dict | None = None
    values: list | None = None        # gradient (flattened, in prog.inputs order) at each point
    expr: object = None               # list of components, or (replacements, reduced) for cse
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def program(f, gates: str = "grouped"):
    """Anything ``stage`` accepts -> a Program (a Program is returned as is)."""
    return stage(f, gates=gates)


def _real(prog):
    return {s: sp.Symbol(s.name, real=True) for s in prog.inputs}


def gradient(f, gates: str = "grouped") -> dict:
    """The full gradient by ``sympy.diff``: {input name: derivative}, inputs taken as real.

    >>> gradient("x*y + sin(x)")["x"]
    y + cos(x)
    """
    prog = program(f, gates)
    return dict(zip((s.name for s in prog.inputs), _raw(prog)))


def _raw(prog) -> list:
    real = _real(prog)
    back = {v: k for k, v in real.items()}
    e = prog.expr().xreplace(real)
    return [sp.diff(e, real[s]).xreplace(back) for s in prog.inputs]


def jacobian(outputs, inputs) -> sp.Matrix:
    """The Jacobian matrix d(outputs)/d(inputs) (rows: outputs, columns: inputs) by sympy.diff."""
    return sp.Matrix(list(outputs)).jacobian(sp.Matrix(list(inputs)))


# ---- producing one form (runs inside the budgeted worker) --------------------------------
def _produce(prog, name):
    t0 = time.perf_counter()
    raw = _raw(prog)
    if name == "raw":
        return raw, time.perf_counter() - t0
    t0 = time.perf_counter()
    if name == "simplified":
        out = [sp.simplify(e) for e in raw]
    elif name == "expanded":
        out = [sp.expand(e) for e in raw]
    elif name == "cse":
        out = sp.cse(raw, optimizations=None)
    else:
        raise DeriveError(f"unknown form '{name}'; the forms are {', '.join(FORMS)}")
    return out, time.perf_counter() - t0


def _digits(exprs) -> int:
    """Decimal digits of the largest number in the expressions (precision needed to evaluate)."""
    big = 1
    for e in exprs:
        for a in e.atoms(sp.Number):
            if a.is_Integer:
                big = max(big, len(str(abs(int(a)))))
            elif a.is_Rational:
                big = max(big, len(str(abs(a.p))), len(str(a.q)))
    return big


def evaluate(prog, form_expr, points, cse: bool = False) -> list:
    """Values of a gradient form at points [{param: value}], by its printed code and mpmath."""
    lines, outputs = form_expr if cse else ([], form_expr)
    digits = _digits([v for _, v in lines] + list(outputs))
    ns = dict(MPMATH_NS)
    try:
        exec(compile(lines_source("_form", [n for n, _ in prog.params], lines, outputs), "<derive form>",
                     "exec"), ns)  # our own code
        fn = ns["_form"]
    except (SyntaxError, RecursionError, MemoryError):
        fn = None
    out = []
    with mpmath.workdps(30 + digits):
        for pt in points:
            args = [[mpmath.mpf(v) for v in pt[n]] if size is not None else mpmath.mpf(pt[n])
                    for n, size in prog.params]
            try:
                vals = fn(*args) if fn else None
            except (NameError, TypeError):
                vals = None
            if vals is None:  # something the printed code cannot run (e.g. Piecewise)
                subs = {s: sp.Float(_flat(pt, s.name), 30 + digits) for s in prog.inputs}
                full = list(outputs)
                for sym, v in reversed(lines):
                    full = [e.xreplace({sym: v}) for e in full]
                vals = [e.evalf(30 + digits, subs=subs) for e in full]
            out.append([float(v) for v in vals])
    return out


def _flat(point, name):
    if "[" in name:
        base, idx = name[:-1].split("[")
        return point[base][int(idx)]
    return point[name]


def _job(prog, name, points, keep):
    expr, seconds = _produce(prog, name)
    if name == "cse":
        metrics = cse_metrics(*expr)
    else:
        metrics = expression_metrics(expr)
    values = evaluate(prog, expr, points, cse=(name == "cse")) if points else None
    return seconds, metrics, values, (expr if keep else None)


def form(f, name: str, budget: float = DEFAULT_BUDGET, points=(), keep: bool = False,
         gates: str = "grouped") -> Form:
    """One form of the full gradient, produced, measured and evaluated under ``budget`` seconds."""
    if name not in FORMS:
        raise DeriveError(f"unknown form '{name}'; the forms are {', '.join(FORMS)}")
    prog = program(f, gates)
    out: Outcome = within(check_budget(budget), _job, prog, name, list(points), keep)
    if not out.ok:
        return Form(name, out.status, None)
    seconds, metrics, values, expr = out.value
    return Form(name, "ok", seconds, metrics, values, expr)


def forms(f, budget: float = DEFAULT_BUDGET, points=(), keep: bool = False, names=FORMS,
          gates: str = "grouped") -> dict:
    """All forms {name: Form}; if the raw derivative itself gives up, the others are skipped."""
    prog = program(f, gates)
    out = {}
    for name in names:
        if name != "raw" and "raw" in out and not out["raw"].ok:
            out[name] = Form(name, "skipped: no raw derivative")
            continue
        out[name] = form(prog, name, budget, points, keep)
    return out
