"""The vector chain rule: per-line Jacobians (SymPy) multiplied, against the staged VJP lines.

At small sizes every array value can be written out component by component as SymPy
expressions (the printed forward lines run on object arrays of Symbols). That gives two
references for an array program's gradient: ``sympy_gradient`` (``sympy.diff`` of the whole
function, component by component) and ``jacobian_gradient`` (each line's full Jacobian
matrix, multiplied along the chain: the vector chain rule as written in the discussion
sheet). With ``central_differences`` they make ``check_arrays`` (what ``derive.check`` runs
for array programs). ``cost_table`` shows why backprop never forms those Jacobians: for the sheet's
two-layer loss the Jacobian of ``W1 @ x`` w.r.t. W1 alone has d**3 entries and the chain
product costs O(d**4), while the VJP lines cost O(d**2).
"""
from __future__ import annotations

import time
import types
from dataclasses import dataclass

import numpy as np
import sympy as sp

from derive.central import central_gradient
from derive.errors import DeriveError
from derive.numerics import ARRAY_NS
from derive.rules import ARRAY_RULES, RULES, apply, derived
from derive.staged import stage
from derive.vector_program import _arrays

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


# ---- cost: forming Jacobians against VJP lines (the sheet's two-layer loss) -------------------

SHEET = '''\
def loss(W1, b, W2, x, y):
    h = W1 @ x + b
    a = np.tanh(h)
    r = W2 @ a - y
    return 0.5 * np.sum(r ** 2)
'''


def counts(d: int) -> dict:
    """Operation counts for dl/dW1 of the sheet's loss, d x d matrices, d-vectors.

    Jacobians: every line's Jacobian formed (entries), then multiplied along the chain from
    the input side, J_l(r) (J_r(a) (J_a(h) J_h(W1))) as the chain rule is written.
    VJP: the staged backward lines (multiplications).
    """
    entries = d * d * d + d * d + d * d + d          # J_h(W1), J_a(h), J_r(a), J_l(r)
    chain = d * d * d * d + d * d * d * d + d * d * d  # (d x d)(d x d^2) twice, then (1 x d)(d x d^2)
    vjp = d + d + d * d + d * d + d + d * d           # dr, r*, dW2, da, dh, dW1 (outer)
    return {"d": d, "jacobian_entries": entries, "jacobian_mults": chain, "vjp_mults": vjp}


def _jacobian_route(W1, b, W2, x, y):
    d = len(x)
    h = W1 @ x + b
    a = np.tanh(h)
    r = W2 @ a - y
    J_h_W1 = np.kron(np.eye(d), x[None, :])    # (d, d*d): dh_i/dW1_jk = [i == j] x_k
    J_a_h = np.diag(1 - a ** 2)
    J_r_a = W2
    J_l_r = r[None, :]
    return (J_l_r @ (J_r_a @ (J_a_h @ J_h_W1))).reshape(d, d)


def cost_table(ds=(2, 4, 8, 16, 32, 64), repeat: int = 3, seed: int = 0) -> list:
    """Counts and measured seconds (best of ``repeat``) for dl/dW1: Jacobians vs staged VJPs."""
    prog = stage(SHEET)
    rng = np.random.default_rng(seed)
    rows = []
    for d in ds:
        args = dict(W1=rng.normal(size=(d, d)), b=rng.normal(size=d), W2=rng.normal(size=(d, d)),
                    x=rng.normal(size=d), y=rng.normal(size=d))
        fn = prog.with_shapes({k: v.shape for k, v in args.items()}).compiled()[0]
        order = prog.param_names
        t_jac, t_vjp = [], []
        for _ in range(repeat):
            t0 = time.perf_counter()
            g_jac = _jacobian_route(**args)
            t1 = time.perf_counter()
            fn(*[args[p] for p in order])
            t2 = time.perf_counter()
            t_jac.append(t1 - t0)
            t_vjp.append(t2 - t1)
        g_vjp = prog.run(**args).grad["W1"]
        if not np.allclose(g_jac, g_vjp, rtol=1e-9, atol=1e-12):
            raise DeriveError(f"Jacobian product and VJP lines disagree at d = {d}")
        rows.append(dict(counts(d), jacobian_seconds=min(t_jac), vjp_seconds=min(t_vjp)))
    return rows


def format_table(rows) -> str:
    head = f"{'d':>4} {'Jacobian entries':>17} {'Jacobian mults':>15} {'VJP mults':>10} " \
           f"{'Jacobian s':>11} {'VJP s':>10}"
    lines = [head]
    for r in rows:
        lines.append(f"{r['d']:>4} {r['jacobian_entries']:>17,} {r['jacobian_mults']:>15,} "
                     f"{r['vjp_mults']:>10,} {r['jacobian_seconds']:>11.2e} {r['vjp_seconds']:>10.2e}")
    return "\n".join(lines)


def plot_costs(rows, path=None):
    """Operation counts and seconds against d (log-log). Returns the figure."""
    import matplotlib.pyplot as plt

    d = [r["d"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.loglog(d, [r["jacobian_mults"] for r in rows], "o-", label="Jacobian product")
    ax1.loglog(d, [r["vjp_mults"] for r in rows], "s-", label="VJP lines")
    ax1.set_xlabel("d")
    ax1.set_ylabel("multiplications for dl/dW1")
    ax1.legend()
    ax2.loglog(d, [r["jacobian_seconds"] for r in rows], "o-", label="Jacobian product")
    ax2.loglog(d, [r["vjp_seconds"] for r in rows], "s-", label="VJP lines (whole backward pass)")
    ax2.set_xlabel("d")
    ax2.set_ylabel("seconds")
    ax2.legend()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig
