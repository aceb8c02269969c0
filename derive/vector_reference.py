"""Answer keys of the vector exercises (matmul, two_layer): derive's array engine, and the
known-wrong variants as edited NumPy formulas.

``reference(name, point)`` stages the exercise's forward pass with derive's vector engine and
runs its generated backward code; every key is also checked against central differences at
grading time (``derive.feedback.verify_key``). ``variants`` lists the known-wrong backward
passes (the misconceptions), written as formulas with one edit each.
Each key is ``(value, outputs, adjoints in backward order, forward values)``.
"""
from __future__ import annotations

import numpy as np


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def loss(name: str, point: dict) -> float:
    """The scalar whose gradient the exercise asks for (matmul: sum(dD * (W @ X)))."""
    if name == "matmul":
        return float(np.sum(point["dD"] * (point["W"] @ point["X"])))
    if name == "two_layer":
        r = point["W2"] @ _sigmoid(point["W1"] @ point["x"] + point["b"]) - point["y"]
        return float(0.5 * r @ r)
    raise KeyError(name)


def _matmul(p, mistake=None):
    W, X, dD = p["W"], p["X"], p["dD"]
    dW, dX = dD @ X.T, W.T @ dD
    if mistake == "transpose":
        dW = X @ dD.T
    elif mistake == "transpose-x":
        dX = dD.T @ W
    return loss("matmul", p), {"dW": dW, "dX": dX}, {}, {"D": W @ X}


def _two_layer(p, mistake=None):
    W1, b, W2, x, y = p["W1"], p["b"], p["W2"], p["x"], p["y"]
    z1 = W1 @ x + b
    a = _sigmoid(z1)
    z2 = W2 @ a
    r = z2 - y
    fwd = {"z1": z1, "a": a, "z2": z2, "r": r}
    dr = -r if mistake == "sign" else r
    dz2 = dr
    dW2 = np.outer(a, dz2) if mistake == "transpose" else np.outer(dz2, a)
    da = W2.T @ dz2
    local = a if mistake == "sigmoid-local-gradient" else a * (1 - a)
    dz1 = local if mistake == "missing-upstream" else local * da
    db = dz1
    dW1 = np.outer(x, dz1) if mistake == "transpose" else np.outer(dz1, x)
    dx = W1.T @ dz1
    adj = {"dr": dr, "dz2": dz2, "dW2": dW2, "da": da, "dz1": dz1, "db": db, "dW1": dW1, "dx": dx}
    return 0.5 * float(r @ r), {"dW1": dW1, "db": db, "dW2": dW2, "dx": dx}, adj, fwd


_FORMULAS = {"matmul": (_matmul, {"transpose": "transpose", "transpose-x": "transpose"}),
             "two_layer": (_two_layer, {m: m.split("-x")[0] for m in
                                        ("sign", "transpose", "sigmoid-local-gradient", "missing-upstream")})}


#: The exercises' forward passes, with the names the templates ask the learner to use.
SOURCES = {
    "matmul": ("def matmul(W, X, dD):\n    D = W @ X\n    return np.sum(dD * D)\n",
               ("dW", "dX"), ("D",)),
    "two_layer": ("def two_layer(W1, b, W2, x, y):\n    z1 = W1 @ x + b\n    a = sigmoid(z1)\n"
                  "    z2 = W2 @ a\n    r = z2 - y\n    return 0.5 * np.sum(r ** 2)\n",
                  ("dW1", "db", "dW2", "dx"), ("z1", "a", "z2", "r")),
}
_ADJOINTS = {"matmul": (), "two_layer": ("dr", "dz2", "dW2", "da", "dz1", "db", "dW1", "dx")}
_PROGRAMS: dict = {}


def reference(name: str, point: dict):
    """The key at one point: (value, {output: array}, {adjoint: array}, {forward: array}),
    from derive's staged program (its generated NumPy backward code)."""
    from derive.vector import stage_arrays

    source, outputs, forward = SOURCES[name]
    shapes = {k: np.shape(v) for k, v in point.items()}
    key = (name, tuple(sorted(shapes.items())))
    if key not in _PROGRAMS:
        _PROGRAMS[key] = stage_arrays(source, "grouped", shapes)
    r = _PROGRAMS[key].run(**{k: np.asarray(v, dtype=float) for k, v in point.items()})
    grads = {f"d{k}": np.asarray(v) for k, v in r.grad.items()}
    adj = {a: np.asarray(grads.get(a, r.adjoints.get(a))) for a in _ADJOINTS[name]}
    return (float(r.value), {o: grads[o] for o in outputs}, adj,
            {k: np.asarray(r.values[k]) for k in forward})


def variants(name: str, point: dict) -> list:
    """[(label, key)] for the known-wrong backward passes of a vector exercise."""
    fn, mistakes = _FORMULAS[name]
    return [(label, fn(point, mistake)) for mistake, label in mistakes.items()]
