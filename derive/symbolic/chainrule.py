"""The vector chain rule and the cost of numeric gradients, for the two-layer loss at small d.

Discussion sheet 1(d)-(e): l = 1/2 ||W2 sigmoid(W1 x + b) - y||^2 with d x d weights.
``vector_chain(d)`` writes each stage's Jacobian with explicit symbols (W1 for the affine
map, a diagonal matrix for the elementwise sigmoid, W2, the identity, x4^T) and checks that
their product equals ``sympy.diff`` of the component-wise loss and the staged gradient.
``vector_table`` sets the size of the component-wise symbolic gradient against the
constant number of vectorised stages; ``numeric_cost`` counts what finite differences
cost for dl/dW1 against the staged backward pass (O(d^4) against O(d^2)).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import sympy as sp

from derive.symbolic.budget import DEFAULT_BUDGET
from derive.core.errors import DeriveError
from derive.symbolic.families import build
from derive.core.naming import symbol
from derive.core.rules import sigmoid
from derive.symbolic.metrics import program_metrics
from derive.symbolic.derivatives import form
from derive.symbolic.derivatives import program

#: The vectorised program of the sheet: (target, formula, differentiable arguments).
#: y is data (a label), so it gets no backward line; each other argument gets one.
VECTOR_FORWARD = [
    ("x1", "W1 @ x + b", ("W1", "x", "b")),
    ("x2", "sigmoid(x1)", ("x1",)),
    ("x3", "W2 @ x2", ("W2", "x2")),
    ("x4", "x3 - y", ("x3",)),
    ("l", "0.5 * sum(x4**2)", ("x4",)),
]


def vector_lines() -> tuple:
    """(forward lines, backward lines) of the vectorised program: the same for every d."""
    return len(VECTOR_FORWARD), sum(len(args) for _, _, args in VECTOR_FORWARD)


def _check_d(d):
    if isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise DeriveError(f"d must be a positive whole number, got {d!r}")


def symbols(d: int) -> dict:
    """The explicit symbols, named as the staged two-layer program names its inputs."""
    _check_d(d)
    vec = lambda name: sp.Matrix([symbol(f"{name}[{i}]") for i in range(d)])  # noqa: E731
    mat = lambda name: sp.Matrix(d, d, lambda i, j: symbol(f"{name}[{i * d + j}]"))  # noqa: E731
    return {"x": vec("x"), "W1": mat("W1"), "b": vec("b"), "W2": mat("W2"), "y": vec("y")}


@dataclass
class VectorChain:
    d: int
    jacobians: list          # [(name, Matrix)] in forward order: dx1/dx, dx2/dx1, dx3/dx2, dx4/dx3, dl/dx4
    product: sp.Matrix       # their product, right to left: dl/dx as a 1 x d row
    gradient: sp.Matrix      # sympy.diff of the component-wise loss, 1 x d
    equal: bool              # product == gradient (symbolically)
    loss: sp.Expr


def vector_chain(d: int) -> VectorChain:
    """Jacobians of each stage and their product, checked against ``sympy.diff``."""
    s = symbols(d)
    ph = {k: sp.Matrix([sp.Symbol(f"{k}_{i}") for i in range(d)]) for k in ("z", "a", "h", "r")}
    stages = [  # (name, function of the placeholder, placeholder) ; each Jacobian by sympy
        ("dx1/dx = W1", s["W1"] * s["x"] + s["b"], s["x"]),
        ("dx2/dx1 = diag(sigmoid')", ph["z"].applyfunc(sigmoid), ph["z"]),
        ("dx3/dx2 = W2", s["W2"] * ph["a"], ph["a"]),
        ("dx4/dx3 = I", ph["h"] - s["y"], ph["h"]),
        ("dl/dx4 = x4^T", sp.Matrix([sp.Rational(1, 2) * sum(v ** 2 for v in ph["r"])]), ph["r"]),
    ]
    x1 = stages[0][1]
    x2 = x1.applyfunc(sigmoid)
    x3 = s["W2"] * x2
    x4 = x3 - s["y"]
    loss = sp.Rational(1, 2) * sum(v ** 2 for v in x4)
    values = {**dict(zip(ph["z"], x1)), **dict(zip(ph["a"], x2)), **dict(zip(ph["h"], x3)),
              **dict(zip(ph["r"], x4))}
    jac = [(name, f.jacobian(v).xreplace(values)) for name, f, v in stages]
    product = jac[4][1] * jac[3][1] * jac[2][1] * jac[1][1] * jac[0][1]
    gradient = sp.Matrix([[sp.diff(loss, v) for v in s["x"]]])
    equal = all(sp.expand(a - b) == 0 for a, b in zip(product, gradient))
    return VectorChain(d, jac, product, gradient, equal, loss)


def vector_table(ds=range(2, 7), budget: float = DEFAULT_BUDGET) -> list:
    """Per d: component-wise symbolic gradient size, scalar staged size, vectorised lines."""

    fwd_v, bwd_v = vector_lines()
    rows = []
    for d in ds:
        prog = program(build("two-layer", d).text)
        raw = form(prog, "raw", budget)
        cse = form(prog, "cse", budget) if raw.ok else None
        m = program_metrics(prog)
        rows.append({
            "d": d, "inputs": len(prog.inputs),
            "symbolic_ops": raw.metrics["ops"] if raw.ok else None,
            "cse_ops": cse.metrics["ops"] if cse is not None and cse.ok else None,
            "staged_lines": m["forward_lines"] + m["backward_lines"], "staged_ops": m["ops"],
            "vector_lines": fwd_v + bwd_v,
        })
    return rows


def numeric_cost(ds=range(2, 7), check: bool = True, seed: int = 0) -> list:
    """Operations for dl/dW1: one-sided finite differences (the sheet's formula) vs staged.

    Finite differences evaluate the loss once, then once more per entry of W1 (d^2 + 1
    forward passes of ~d^2 operations each, plus a subtraction and a division per entry);
    the staged backward pass costs one forward and one backward pass. With ``check``, the
    finite-difference gradient is computed and compared with the staged one.
    """

    rng = random.Random(seed)
    rows = []
    for d in ds:
        prog = program(build("two-layer", d).text)
        fwd = prog.forward_ops
        evals = d * d + 1
        row = {"d": d, "forward_ops": fwd, "fd_evaluations": evals, "fd_ops": evals * fwd + 2 * d * d,
               "staged_evaluations": 1, "staged_ops": fwd + prog.backward_ops}
        if check:
            pt = {n: [rng.uniform(-1, 1) for _ in range(size)] for n, size in prog.params}
            res = prog.run(**pt)
            base, h, worst = res.value, 1e-6, 0.0
            for k in range(d * d):
                moved = {n: list(v) for n, v in pt.items()}
                moved["W1"][k] += h
                fd = (prog.run(**moved).value - base) / h
                worst = max(worst, abs(fd - res.grad["W1"][k]) / max(1.0, abs(res.grad["W1"][k])))
            row["fd_max_error"] = worst
        rows.append(row)
    return rows


def slope(rows, key: str, x: str = "d") -> float:
    """Least-squares slope of log(rows[key]) against log(rows[x]): the growth exponent."""
    pts = [(math.log(r[x]), math.log(r[key])) for r in rows if r.get(key)]
    if len(pts) < 2:
        return float("nan")
    mx = sum(p for p, _ in pts) / len(pts)
    my = sum(q for _, q in pts) / len(pts)
    return sum((p - mx) * (q - my) for p, q in pts) / sum((p - mx) ** 2 for p, _ in pts)


def text_table(rows, cols) -> str:
    """Rows of numbers as an aligned text table (floats in scientific notation, None as -)."""
    def cell(v):
        return "-" if v is None else (f"{v:.1e}" if isinstance(v, float) else str(v))

    cells = [list(cols)] + [[cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cols))]
    return "\n".join("  ".join(f"{c:>{w}}" for c, w in zip(row, widths)) for row in cells)
