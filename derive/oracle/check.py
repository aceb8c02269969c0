"""Are two derivatives the same? The staged gradient against sympy.diff and central differences.

``check(f)`` is what the tests call and what users call (``derive stage ... --check``): both
references are independent of the staged backward pass. ``sympy.diff`` differentiates the
whole expression; central differences only evaluate the function (through SymPy's
``lambdify``, not through derive's program). A rolled loop is read unrolled for both when it is
short (``derive.staging.restage``); a longer one is compared with central differences of its
rolled forward loop only, and the report says that sympy.diff was not compared.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from derive.oracle.central import central_gradient
from derive.core.errors import DeriveError
from derive.symbolic.jacobians import check_arrays
from derive.core.numerics import LAMBDIFY_NS
from derive.staging.staged import stage
from derive.staging.restage import SYMBOLIC_TRIPS


def lambdify(args, expr):
    """A float function of ``args`` from a SymPy expression, knowing derive's gates."""
    return sp.lambdify(args, expr, modules=[LAMBDIFY_NS, "math"])


@dataclass
class CheckReport:
    """Largest differences between the staged gradient and the two references."""

    points: list = field(default_factory=list)      # [{input: value}]
    staged: list = field(default_factory=list)      # [{input: grad}]
    symbolic: list = field(default_factory=list)    # [{input: sympy.diff value}] ({} if not compared)
    numeric: list = field(default_factory=list)     # [{input: central difference}]
    max_rel_err_sympy: float = 0.0
    max_rel_err_numeric: float = 0.0
    tol_sympy: float = 1e-9
    tol_numeric: float = 1e-5
    sympy_skipped: str = ""      # why sympy.diff was not compared (a rolled loop too long to unroll)

    @property
    def ok(self) -> bool:
        return self.max_rel_err_sympy <= self.tol_sympy and self.max_rel_err_numeric <= self.tol_numeric

    def __str__(self):
        verdict = "OK" if self.ok else "MISMATCH"
        if self.sympy_skipped:
            return (f"gradient check at {len(self.points)} point(s): {verdict}; sympy.diff not compared (a rolled "
                    f"loop longer than {SYMBOLIC_TRIPS} steps: stage it with unroll=True for that); max relative "
                    f"error vs central differences {self.max_rel_err_numeric:.1e} (tol {self.tol_numeric:.0e})")
        return (f"gradient check at {len(self.points)} point(s): {verdict}; max relative error "
                f"vs sympy.diff {self.max_rel_err_sympy:.1e} (tol {self.tol_sympy:.0e}), "
                f"vs central differences {self.max_rel_err_numeric:.1e} (tol {self.tol_numeric:.0e})")


def rel_err(a: float, b: float) -> float:
    """|a - b| relative to the larger magnitude, absolute below 1."""
    return abs(a - b) / max(1.0, abs(a), abs(b))


def _flat(prog, grad):
    out = {}
    for name, size in prog.params:
        if size is None:
            out[name] = grad[name]
        else:
            out.update({f"{name}[{i}]": v for i, v in enumerate(grad[name])})
    return out


def _nest(prog, flat):
    out = {}
    for name, size in prog.params:
        out[name] = flat[name] if size is None else [flat[f"{name}[{i}]"] for i in range(size)]
    return out


def check(f, at: dict | None = None, points: int = 3, seed: int = 0, gates: str = "grouped",
          low: float = -2.0, high: float = 2.0, tol_sympy: float = 1e-9,
          tol_numeric: float = 1e-5) -> CheckReport:
    """Compare the staged gradient of ``f`` with sympy.diff and central differences.

    ``at`` gives one point ({input: value}, lists for list inputs); otherwise ``points``
    random points in [low, high] (seeded) where the function is defined.
    """
    prog = stage(f, gates=gates)
    if prog.arrays:  # at random arrays of the shapes of ``at`` (or the program's own shapes)
        reference = prog.unrolled("check") if prog.loops else None  # a rolled loop: the references unrolled
        return check_arrays(prog, shapes={k: np.shape(v) for k, v in at.items()} if at else None, seed=seed,
                            reference=reference)
    return _check(prog, at, points, seed, low, high, tol_sympy, tol_numeric)


def _check(prog, at, points, seed, low, high, tol_sympy, tol_numeric) -> CheckReport:
    """A scalar program: at ``at`` or at random points where it is defined."""
    syms = prog.inputs
    report = CheckReport(tol_sympy=tol_sympy, tol_numeric=tol_numeric)
    expr = _expression(prog, report)
    value_fn = lambdify(syms, expr) if expr is not None else _rolled_value(prog)
    grad_fns = [lambdify(syms, sp.diff(expr, s)) for s in syms] if expr is not None else []
    rng = random.Random(seed)
    todo = [at] if at is not None else []
    tries = 0
    while (todo or len(report.points) < points) and tries < 50 * max(points, 1):
        tries += 1
        if todo:
            point = todo.pop()
            flat_point = _flat(prog, point)
        else:
            flat_point = {s.name: rng.uniform(low, high) for s in syms}
            point = _nest(prog, flat_point)
        xs = [float(flat_point[s.name]) for s in syms]
        names = [s.name for s in syms]
        try:
            staged = _flat(prog, prog.run(**point).grad)
            symbolic = {s.name: float(g(*xs)) for s, g in zip(syms, grad_fns)} if grad_fns else {}
            numeric = central_gradient(_by_name(value_fn, syms), dict(zip(names, xs)), relative=True)
        except (DeriveError, ValueError, ZeroDivisionError, OverflowError, TypeError):
            if at is not None:
                raise
            continue
        vals = list(staged.values()) + list(symbolic.values()) + list(numeric.values())
        if not all(math.isfinite(v) for v in vals):
            continue
        report.points.append(point)
        report.staged.append(staged)
        report.symbolic.append(symbolic)
        report.numeric.append(numeric)
        for k in staged:
            if k in symbolic:   # (not compared for a rolled loop too long to unroll)
                report.max_rel_err_sympy = max(report.max_rel_err_sympy, rel_err(staged[k], symbolic[k]))
            report.max_rel_err_numeric = max(report.max_rel_err_numeric, rel_err(staged[k], numeric[k]))
        if at is not None:
            break
    if not report.points:
        raise DeriveError("no point found where the function and its gradient are defined")
    return report


def _expression(prog, report):
    """The function as one SymPy expression; None for a rolled loop too long to unroll (the
    report then says that sympy.diff was not compared)."""
    try:
        return prog.expr()
    except DeriveError as err:
        if not prog.loops:
            raise
        report.sympy_skipped = str(err)
        return None


def _rolled_value(prog):
    """The value through the rolled program (its forward loop), for central differences."""
    names = [s.name for s in prog.inputs]
    return lambda *xs: prog.run(**_nest(prog, dict(zip(names, xs)))).value


def numeric_gradient(f, at: dict, h: float | None = None, gates: str = "grouped") -> dict:
    """Central differences (f(x + h) - f(x - h)) / 2h at one point, shaped like ``run().grad``.

    Only the function's value is evaluated (SymPy's ``lambdify``, not the staged backward
    pass): 2 evaluations per input. ``h`` is the step (default 1e-6, scaled to each input).
    """
    prog = stage(f, gates=gates)
    if h is not None and not (isinstance(h, (int, float)) and math.isfinite(h) and h > 0):
        raise DeriveError(f"the step h must be a positive number, got {h!r}")
    prog.run(**at)  # validates the point (names, sizes, numbers) with derive's own messages
    value_fn = lambdify(prog.inputs, prog.expr())
    flat = _flat(prog, at)
    point = {s.name: float(flat[s.name]) for s in prog.inputs}
    return _nest(prog, central_gradient(_by_name(value_fn, prog.inputs), point, h=h or 1e-6,
                                        relative=h is None))


def _by_name(fn, syms):
    """A function of the inputs' values -> a function of a point {name: value}."""
    return lambda point: fn(*[point[s.name] for s in syms])
