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


def central_gradient(f, point: dict, names=None, h: float = 1e-6, relative: bool = False) -> dict:
    """{name: d f / d point[name]} for ``names`` (default: every input of the point)."""
    return {n: central_difference(f, point, n, h, relative) for n in (names or list(point))}
