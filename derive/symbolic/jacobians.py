"""The vector chain rule: per-line Jacobians (SymPy) multiplied, against the staged VJP lines.

At small sizes every array value can be written out component by component as SymPy
expressions (each forward line's gate applied to object arrays of Symbols: an elementwise
gate's SymPy form element by element, an array gate's row on arrays of SymPy expressions). That gives two
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
from derive.staging.array_program import _arrays, call_value

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


def _run_line(ln, env, point):
    """One forward line on arrays of SymPy expressions (``env`` by name): an elementwise gate from
    its row (the SymPy form, element by element), an array gate by its row's ``symbolic``; a
    comparison (a mask) by its numbers at ``point`` (it is constant near the point)."""
    args = [env[a.name] if a.is_Symbol else a for a in ln.args]
    if ln.op in ARRAY_RULES and ARRAY_RULES[ln.op].mask:
        num = np.vectorize(lambda e: float(sp.sympify(e).xreplace(point)), otypes=[float])
        env[ln.target.name] = call_value(ln.rhs, [num(a) for a in args], ARRAY_NS)
    elif ln.op in RULES:
        env[ln.target.name] = np.frompyfunc(lambda *xs: apply(ln.op, *(int(x) if isinstance(x, (bool, np.bool_))
                                                                      else x for x in xs)), len(args), 1)(*args)  # mask * x
    else:
        env[ln.target.name] = call_value(ln.rhs, args, SYMPY_NS)


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


def symbolic_value(prog, arrays, upstream=None):
    """The program's value as one SymPy expression in the components (labels stay numbers);
    an array output is dotted with its ``upstream`` gradient (the scalar its VJPs differentiate)."""
    prog._flat("sympy.diff of every component")  # a rolled loop's lines are one step, not the function
    spec, arrays = _specialise(prog, arrays)
    env = dict(SYMPY_NS)
    for p in spec.param_names:
        env[p] = arrays[p] if p in spec.labels else _symbols(p, arrays[p].shape)
    symbols = {p: env[p] for p in spec.param_names if p not in spec.labels}
    point = _point(symbols, arrays)
    for ln in spec.forward:
        _run_line(ln, env, point)
    value = env[spec.output.name]
    if spec.upstream is not None:
        weights = np.asarray(_need_upstream(spec, upstream), dtype=float)
        return sp.Add(*[v * sp.Float(float(u)) for v, u in zip(np.ravel(value), np.ravel(weights))]), symbols
    return sp.sympify(value[()] if isinstance(value, np.ndarray) else value), symbols


def _need_upstream(spec, upstream):
    if upstream is None:
        raise DeriveError(f"the output {spec.output} is an array: give its upstream gradient (upstream=)")
    return upstream


def _point(symbols, arrays):
    return {s: sp.Float(float(v)) for p, arr in symbols.items()
            for s, v in zip(np.ravel(arr), np.ravel(np.asarray(arrays[p], dtype=float)))}


def partials(expr, symbols: dict) -> dict:
    """``sympy.diff(expr, s)`` for every component ``s`` of the arrays ``symbols``, faster where
    ``expr`` is symmetric. If exchanging index 0 and k along one axis leaves ``expr`` unchanged
    (in that array alone: the rows of a batch under a mean; or in every array whose axis lines up
    with it as NumPy broadcasting lines axes up, from the right: a feature with its gamma and
    beta), then for s at index k, d/ds is d/dr (r at index 0) with the exchange applied. That is
    exactly the derivative, the expression ``sympy.diff`` gives (tests compare them), at a tenth
    of the cost. Each exchange is checked once (one ``xreplace`` of ``expr``)."""
    arrays = {p: np.asarray(a, dtype=object) for p, a in symbols.items()}
    same: dict = {}
    out = {}
    for p, arr in arrays.items():
        for idx in np.ndindex(arr.shape):
            s = arr[idx]
            for axis, k in enumerate(idx):
                swap = k and _symmetry(expr, arrays, same, p, axis, k)
                if swap:
                    out[s] = out[swap[s]].xreplace(swap)
                    break
            else:
                out[s] = sp.diff(expr, s)
    return out


def _symmetry(expr, arrays, same, p, axis, k):
    """The exchange of index 0 and ``k`` along ``axis`` of array ``p`` (with the axes broadcasting
    lines up with it, else alone) that leaves ``expr`` unchanged, as a symbol map; or None.
    ``same`` remembers each exchange checked."""
    arr = arrays[p]
    back = axis - arr.ndim  # the axis counted from the right
    lined = [(q, a.ndim + back) for q, a in arrays.items()
             if a.ndim >= -back and a.shape[back] == arr.shape[axis]]
    for group in (lined, [(p, axis)]) if len(lined) > 1 else ([(p, axis)],):
        swap = {}
        for q, ax in group:
            a = np.moveaxis(arrays[q], ax, 0)
            for u, v in zip(np.ravel(a[0]), np.ravel(a[k])):
                swap[u], swap[v] = v, u
        key = frozenset(swap.items())
        if key not in same:
            same[key] = expr.xreplace(swap) == expr
        if same[key]:
            return swap
    return None


def sympy_gradient(prog, arrays, upstream=None) -> dict:
    """Component-wise ``sympy.diff`` of the whole function (dotted with ``upstream`` for an
    array output), evaluated at ``arrays``."""
    expr, symbols = symbolic_value(prog, arrays, upstream)
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
    values = spec.run(**arrays, upstream=np.zeros(spec.shapes[spec.output.name])
                      if spec.upstream is not None else None).values
    env_num = {**{p: np.asarray(arrays[p], dtype=float) for p in spec.param_names
                  if p not in spec.labels}, **values}
    out = []
    masks = {ln.target.name for ln in spec.forward if ln.op in ARRAY_RULES and ARRAY_RULES[ln.op].mask}
    for ln in spec.forward:
        env = dict(SYMPY_NS)
        names = [a.name for a in ln.args if a.is_Symbol]
        for a in names:
            if a in spec.labels or a in masks:
                env[a] = arrays[a] if a in spec.labels else env_num[a]
            elif a in env_num and a not in env:
                env[a] = _symbols(a, np.shape(env_num[a]))
        _run_line(ln, env, {s: float(v) for b in names if b in env_num and b not in spec.labels
                            for s, v in zip(np.ravel(env[b]), np.ravel(env_num[b]))})
        if ln.target.name in masks:  # a boolean mask: no Jacobian (no gradient flows through it)
            out.append((ln, {}))
            continue
        y = sp.Matrix(np.ravel(np.asarray(env[ln.target.name], dtype=object)).tolist())
        jac = {}
        for a in dict.fromkeys(names):
            if a not in spec.labels and any(b.ref == ln.number and b.var.name == a for b in spec.backward):
                xs = list(np.ravel(env[a]))
                point = {s: float(v) for b in names if b in env_num and b not in spec.labels
                         for s, v in zip(np.ravel(env[b]), np.ravel(env_num[b]))}
                J = y.jacobian(xs)
                jac[a] = (J, np.array(J.xreplace(point).tolist(), dtype=float))
        out.append((ln, jac))
    return out


def jacobian_gradient(prog, arrays, upstream=None) -> dict:
    """The gradient as a product of the lines' full Jacobians (reverse order, row vector first:
    1, or the upstream gradient of an array output)."""
    spec, arrays = _specialise(prog, arrays)
    seed = np.ones((1, 1)) if spec.upstream is None else \
        np.asarray(_need_upstream(spec, upstream), dtype=float).reshape(1, -1)
    rows = {spec.output.name: seed}
    for ln, jac in reversed(line_jacobians(spec, arrays)):
        if ln.target.name not in rows:
            continue
        for a, (_, J) in jac.items():
            rows[a] = rows.get(a, 0) + rows[ln.target.name] @ J
    return {p: rows.get(p, np.zeros((1, np.size(arrays[p])))).reshape(np.shape(arrays[p]))
            for p in spec.grads}


def central_differences(prog, arrays: dict, h: float = 1e-6, upstream=None) -> dict:
    """The gradient by central differences of the program's value (an independent reference);
    an array output is dotted with its ``upstream`` gradient."""
    point = _arrays(prog, arrays)
    spec = prog.with_shapes({k: v.shape for k, v in point.items()})
    fn, k = spec.compiled()[0], [ln.target for ln in spec.forward].index(spec.output)  # Symbols
    extra = [np.zeros(spec.shapes[spec.output.name])] if spec.upstream is not None else []
    weights = None if spec.upstream is None else np.asarray(_need_upstream(spec, upstream), dtype=float)

    def value(pt):
        out = fn(*[pt[q] for q in prog.param_names], *extra)[k]
        return out if weights is None else float(np.sum(out * weights))
    return central_gradient(value, point, list(prog.grads), h)


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


def check_arrays(prog, shapes=None, seed: int = 0, reference=None) -> ArrayCheck:
    """Staged gradient vs central differences and (at small sizes) component-wise sympy.diff,
    at random arrays of ``shapes`` (or the program's own); labels are 0. ``reference``: the
    program the references read (a rolled loop's unrolled program), if not ``prog``."""
    ref = prog if reference is None else reference
    shapes = shapes or ({p: prog.shapes[p] for p in prog.param_names} if prog.shapes else None)
    if shapes is None:
        raise DeriveError("shapes are unknown: give shapes to check at")
    rng = np.random.default_rng(seed)
    arrays = {p: np.zeros(shapes[p], dtype=int) if p in prog.labels
              else np.asarray(rng.normal(size=shapes[p])) for p in prog.param_names}
    spec = prog.with_shapes({p: arrays[p].shape for p in prog.param_names})
    up = None if spec.upstream is None else rng.normal(size=spec.shapes[spec.output.name])
    staged = prog.run(**arrays, upstream=up).grad
    numeric = _rel(staged, central_differences(ref, arrays, upstream=up))
    small = sum(a.size for p, a in arrays.items() if p not in prog.labels) <= 60 and not ref.loops
    sym = _rel(staged, sympy_gradient(ref, arrays, up)) if small else None
    return ArrayCheck({p: tuple(shapes[p]) for p in prog.param_names}, numeric, sym)


#: The discussion sheet's two-layer loss (tests and derive.symbolic.jacobian_costs use it).
SHEET = '''\
def loss(W1, b, W2, x, y):
    h = W1 @ x + b
    a = np.tanh(h)
    r = W2 @ a - y
    return 0.5 * np.sum(r ** 2)
'''
