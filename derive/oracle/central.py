"""Central differences, the one reference that only evaluates the function: (f(x+h) - f(x-h)) / 2h.

Every numeric check in derive uses this helper (``derive.check``, ``derive.compare``,
``derive.jacobians``, the exercise keys): a function of a point ``{name: value}`` whose values
are numbers, lists of numbers or NumPy arrays, moved one element at a time. The result has
the shape of each input (a float, a list, an array).
"""
from __future__ import annotations

import numpy as np


def _as_given(x: np.ndarray, like):
    """``x`` back in the form the caller gave: an array, a list or a number."""
    if isinstance(like, np.ndarray):
        return x
    if isinstance(like, (list, tuple)):
        return x.tolist()
    return float(x)


def central_difference(f, point: dict, name: str, h: float = 1e-6, relative: bool = False):
    """d f / d point[name], element by element, shaped like ``point[name]``.

    ``relative`` scales the step to each element (h * max(1, |x|)), as ``derive.check`` does.
    """
    given = point[name]
    base = np.array(given, dtype=float)
    grad = np.zeros_like(base)
    for idx in np.ndindex(base.shape):
        step = h * max(1.0, abs(float(base[idx]))) if relative else h
        values = []
        for sign in (1, -1):
            x = base.copy()
            x[idx] += sign * step
            with np.errstate(all="ignore"):
                values.append(float(f({**point, name: _as_given(x, given)})))
        grad[idx] = (values[0] - values[1]) / (2 * step)
    return _as_given(grad, given)


def central_columns(f_many, base: list, h: float = 1e-6, batch: int = 128) -> list:
    """d f / d x_j for a function of the numbers ``base``, every moved point evaluated together.

    ``f_many(X)`` takes an array of shape (len(base), m), one point per column, and returns its m
    values. Steps are relative (h * max(1, |x_j|)), ``batch`` coordinates per call, so the cost is
    a few vectorised passes rather than two runs per input. A coordinate whose difference is not
    finite comes back as None, for the caller to redo one point at a time.
    """
    out = []
    n = len(base)
    for start in range(0, n, batch):
        chunk = range(start, min(n, start + batch))
        X = np.repeat(np.asarray(base, dtype=float).reshape(n, 1), 2 * len(chunk), axis=1)
        steps = []
        for j, c in enumerate(chunk):
            step = h * max(1.0, abs(float(base[c])))
            X[c, 2 * j] += step
            X[c, 2 * j + 1] -= step
            steps.append(step)
        try:
            with np.errstate(all="ignore"):
                values = f_many(X)
        except (TypeError, ValueError, ArithmeticError):  # e.g. sin(10**30): an int NumPy can't take
            values = np.full(2 * len(chunk), np.nan)
        for j in range(len(chunk)):
            d = (values[2 * j] - values[2 * j + 1]) / (2 * steps[j])
            out.append(float(d) if np.isfinite(d) else None)
    return out


def central_gradient(f, point: dict, names=None, h: float = 1e-6, relative: bool = False) -> dict:
    """{name: d f / d point[name]} for ``names`` (default: every input of the point)."""
    return {n: central_difference(f, point, n, h, relative) for n in (names or list(point))}
