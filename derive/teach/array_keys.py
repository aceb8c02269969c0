"""Known-wrong backward passes of the built-in NumPy exercises (matmul, two_layer), as formulas.

An exercise directory names its set with ``grading.variants = "matmul"``; each variant is the
right backward pass with one edit (the misconception) and gives a key
``(value, outputs, adjoints in backward order, forward values)``. The right keys themselves come
from derive's array engine (``derive.exercises``), never from here.
"""
from __future__ import annotations

import numpy as np


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _matmul(p, mistake=None):
    W, X, dD = p["W"], p["X"], p["dD"]
    dW, dX = dD @ X.T, W.T @ dD
    if mistake == "transpose":
        dW = X @ dD.T
    elif mistake == "transpose-x":
        dX = dD.T @ W
    return float(np.sum(dD * (W @ X))), {"dW": dW, "dX": dX}, {}, {"D": W @ X}


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


VARIANT_SETS = tuple(_FORMULAS)


def variants(name: str, point: dict) -> list:
    """[(label, key)] for the known-wrong backward passes of a vector exercise."""
    fn, mistakes = _FORMULAS[name]
    return [(label, fn(point, mistake)) for mistake, label in mistakes.items()]
