"""The vector chain rule: per-line Jacobians (SymPy) multiplied, against the staged VJP lines.

At small sizes every array value can be written out component by component as SymPy
expressions (the printed forward lines run on object arrays of Symbols). That gives two
references for an array program's gradient: ``sympy_gradient`` (``sympy.diff`` of the whole
function, component by component) and ``jacobian_gradient`` (each line's full Jacobian
matrix, multiplied along the chain: the vector chain rule as written in the discussion
sheet). With ``central_differences`` they make ``check_arrays`` (what ``derive.check`` runs
for array programs). ``derive.symbolic.jacobian_costs`` shows why backprop never forms those Jacobians.
"""
from __future__ import annotations

import types
from dataclasses import dataclass

import numpy as np
import sympy as sp

from derive.oracle.central import central_gradient
from derive.core.errors import DeriveError
from derive.core.numerics import ARRAY_NS
from derive.core.rules import ARRAY_RULES, RULES, apply, derived
from derive.staging.array_program import _arrays

MAX_COMPONENTS = 400


def _sympy_ns():
    """Array lines' NumPy calls on arrays of SymPy symbols: each array row's ``symbolic``."""
    npns = types.SimpleNamespace(linalg=types.SimpleNamespace())
    ns = dict(ARRAY_NS, np=npns)
    for r in ARRAY_RULES.values():
        for call in r.calls if r.symbolic is not None else ():
            *path, last = call.split(".")
            if path and path[0] == "np":
                target = npns
                for part in path[1:]:
                    target = getattr(target, part)
                setattr(target, last, r.symbolic)
            elif not path:
                ns[last] = r.symbolic
    return ns


SYMPY_NS = derived(_sympy_ns)


def _run_line(ln, env):
    """One forward line on arrays of SymPy expressions: an elementwise gate from its row (the
    SymPy form, element by element), an array gate by its printed NumPy call."""
    if ln.op in RULES:
        args = [env[str(v)] if isinstance(v, sp.Symbol) else v for v in ln.values]
        env[ln.target] = np.frompyfunc(lambda *xs: apply(ln.op, *xs), len(args), 1)(*args)
    else:
        exec(compile(str(ln), "<derive symbolic line>", "exec"), env)  # derive's printed line


def _symbols(name, shape):
    if shape == ():
        return np.array(sp.Symbol(name, real=True), dtype=object)
    flat = [sp.Symbol(f"{name}_{'_'.join(map(str, i))}", real=True) for i in np.ndindex(shape)]
    return np.array(flat, dtype=object).reshape(shape)


def _specialise(prog, arrays):
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    spec = prog.with_shapes({k: v.shape for k, v in arrays.items()})
    size = sum(v.size for k, v in arrays.items() if k not in prog.labels)
    if size > MAX_COMPONENTS:
        raise DeriveError(f"{size} components is too many to write out symbolically "
                          f"(the limit is {MAX_COMPONENTS}); use smaller arrays")
    return spec, arrays


def symbolic_value(prog, arrays):
    """The program's value as one SymPy expression in the components (labels stay numbers)."""
    spec, arrays = _specialise(prog, arrays)
    env = dict(SYMPY_NS)
    for p in spec.param_names:
        env[p] = arrays[p] if p in spec.labels else _symbols(p, arrays[p].shape)
    for ln in spec.forward:
        _run_line(ln, env)
    symbols = {p: env[p] for p in spec.param_names if p not in spec.labels}
    return sp.sympify(env[spec.output][()] if isinstance(env[spec.output], np.ndarray)
                      else env[spec.output]), symbols


def _point(symbols, arrays):
    return {s: sp.Float(float(v)) for p, arr in symbols.items()
            for s, v in zip(np.ravel(arr), np.ravel(np.asarray(arrays[p], dtype=float)))}


def sympy_gradient(prog, arrays) -> dict:
    """Component-wise ``sympy.diff`` of the whole function, evaluated at ``arrays``."""
    expr, symbols = symbolic_value(prog, arrays)
    point = _point(symbols, arrays)
    out = {}
    for p, arr in symbols.items():
        flat = [float(sp.diff(expr, s).xreplace(point)) for s in np.ravel(arr)]
        out[p] = np.array(flat).reshape(np.shape(arr))
    return out


def line_jacobians(prog, arrays):
    """For each forward line and each argument with a gradient: the line's Jacobian matrix
    (SymPy, rows = output components, columns = argument components) at ``arrays``."""
    spec, arrays = _specialise(prog, arrays)
    values = spec.run(**arrays).values
    env_num = {**{p: np.asarray(arrays[p], dtype=float) for p in spec.param_names
                  if p not in spec.labels}, **values}
    out = []
    for ln in spec.forward:
        env = dict(SYMPY_NS)
        for a in ln.args:
            if a in spec.labels:
                env[a] = arrays[a]
            elif a in env_num and a not in env:
                env[a] = _symbols(a, np.shape(env_num[a]))
        _run_line(ln, env)
        y = sp.Matrix(np.ravel(np.asarray(env[ln.target], dtype=object)).tolist())
        jac = {}
        for a in dict.fromkeys(ln.args):
            if a in spec.adjoints and a not in spec.labels and any(b.ref == ln.number and b.var == a
                                                                  for b in spec.backward):
                xs = list(np.ravel(env[a]))
                point = {s: float(v) for b in ln.args if b in env_num and b not in spec.labels
                         for s, v in zip(np.ravel(env[b]), np.ravel(env_num[b]))}
                J = y.jacobian(xs)
                jac[a] = (J, np.array(J.xreplace(point).tolist(), dtype=float))
        out.append((ln, jac))
    return out


def jacobian_gradient(prog, arrays) -> dict:
    """The gradient as a product of the lines' full Jacobians (reverse order, row vector first)."""
    spec, arrays = _specialise(prog, arrays)
    rows = {spec.output: np.ones((1, 1))}
    for ln, jac in reversed(line_jacobians(spec, arrays)):
        if ln.target not in rows:
            continue
        for a, (_, J) in jac.items():
            rows[a] = rows.get(a, 0) + rows[ln.target] @ J
    return {p: rows.get(p, np.zeros((1, np.size(arrays[p])))).reshape(np.shape(arrays[p]))
            for p in spec.grads}


def central_differences(prog, arrays: dict, h: float = 1e-6) -> dict:
    """The gradient by central differences of the program's value (an independent reference)."""
    point = _arrays(prog, arrays)
    spec = prog.with_shapes({k: v.shape for k, v in point.items()})
    fn, k = spec.compiled()[0], [ln.target for ln in spec.forward].index(spec.output)
    return central_gradient(lambda pt: fn(*[pt[q] for q in prog.param_names])[k], point, list(prog.grads), h)


@dataclass
class ArrayCheck:
    """The staged gradient at random arrays against central differences (and sympy.diff)."""

    shapes: dict
    max_err_numeric: float
    max_err_sympy: float | None
    tol_numeric: float = 1e-5
    tol_sympy: float = 1e-9

    @property
    def ok(self) -> bool:
        return self.max_err_numeric <= self.tol_numeric and \
            (self.max_err_sympy is None or self.max_err_sympy <= self.tol_sympy)

    def __str__(self):
        sym = "not run (too many components)" if self.max_err_sympy is None else f"{self.max_err_sympy:.1e}"
        return (f"check at random arrays {', '.join(f'{k} {v}' for k, v in self.shapes.items())}: "
                f"largest relative difference vs central differences {self.max_err_numeric:.1e}, "
                f"vs sympy.diff {sym}: {'OK' if self.ok else 'MISMATCH'}")


def _rel(a, b):
    return max(float(np.max(np.abs(a[k] - b[k]) / np.maximum(1.0, np.abs(b[k])), initial=0.0)) for k in a)


def check_arrays(prog, shapes=None, seed: int = 0) -> ArrayCheck:
    """Staged gradient vs central differences and (at small sizes) component-wise sympy.diff,
    at random arrays of ``shapes`` (or the program's own); labels are 0."""
    shapes = shapes or ({p: prog.shapes[p] for p in prog.param_names} if prog.shapes else None)
    if shapes is None:
        raise DeriveError("shapes are unknown: give shapes to check at")
    rng = np.random.default_rng(seed)
    arrays = {p: np.zeros(shapes[p], dtype=int) if p in prog.labels
              else np.asarray(rng.normal(size=shapes[p])) for p in prog.param_names}
    staged = prog.run(**arrays).grad
    numeric = _rel(staged, central_differences(prog, arrays))
    small = sum(a.size for p, a in arrays.items() if p not in prog.labels) <= 60
    sym = _rel(staged, sympy_gradient(prog, arrays)) if small else None
    return ArrayCheck({p: tuple(shapes[p]) for p in prog.param_names}, numeric, sym)


#: The discussion sheet's two-layer loss (tests and derive.symbolic.jacobian_costs use it).
SHEET = '''\
def loss(W1, b, W2, x, y):
    h = W1 @ x + b
    a = np.tanh(h)
    r = W2 @ a - y
    return 0.5 * np.sum(r ** 2)
'''
