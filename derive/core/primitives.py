"""Numeric implementations of the gates, for floats, NumPy arrays and mpmath numbers.

``from derive import sigmoid, relu`` gives the functions students call in their own staged
code. The rows of ``derive.rules`` point at these functions, and ``derive.core.numerics`` builds
from the rows the namespaces that generated programs run in (``math``, ``numpy``, ``mpmath``).
"""
from __future__ import annotations

import math

import mpmath
import numpy as np

_EXP_LIMIT = 709.0  # exp(709) is the largest power of e below the float64 maximum


def sigmoid(x):
    """1 / (1 + exp(-x)), without overflow: sigmoid(-1000) == 0.0 with no warning."""
    if isinstance(x, np.ndarray) or np.isscalar(x) and isinstance(x, np.generic):
        x = np.asarray(x, dtype=float)
        safe = np.maximum(x, -_EXP_LIMIT)
        return np.where(x >= -_EXP_LIMIT, 1.0 / (1.0 + np.exp(-safe)), np.exp(np.minimum(x, 0)))
    if isinstance(x, mpmath.mpf):
        return 1 / (1 + mpmath.exp(-x))
    if x < -_EXP_LIMIT:
        return math.exp(x)
    return 1.0 / (1.0 + math.exp(-x))


def relu(x):
    """max(x, 0)."""
    if isinstance(x, np.ndarray):
        return np.maximum(x, 0.0)
    return x if x > 0 else 0.0 * x


def heaviside(x, h0=0.5):
    """The step function: 0 below zero, 1 above, ``h0`` at zero."""
    if isinstance(x, np.ndarray):
        return np.heaviside(x, h0)
    return 1.0 if x > 0 else (h0 if x == 0 else 0.0)


def sign(x):
    """-1, 0 or 1 (so abs'(0) = 0)."""
    if isinstance(x, np.ndarray):
        return np.sign(x)
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


def _float_sigmoid(x):
    """The float-only sigmoid the ``math`` namespace uses (no type checks on the hot path)."""
    if x < -_EXP_LIMIT:
        return math.exp(x)
    return 1.0 / (1.0 + math.exp(-x))


def _np_sigmoid(x):
    return sigmoid(np.asarray(x, dtype=float))


def softplus(x):
    """log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|))."""
    if isinstance(x, np.ndarray) or isinstance(x, np.generic):
        return np.logaddexp(0.0, x)
    if isinstance(x, mpmath.mpf):
        return mpmath.log(1 + mpmath.exp(x))
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def softmax(z):
    """Probabilities along the last axis, computed stably (the row maximum is subtracted)."""
    z = np.asarray(z, dtype=float)
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def onehot(labels, k):
    """Integer labels (a number or a 1-D array) as one-hot rows of length ``k`` (floats)."""
    labels = np.asarray(labels)
    return (labels[..., None] == np.arange(int(k))).astype(float)


def softmax_cross_entropy(z, labels):
    """Cross-entropy of softmax(z) against integer labels, summed over the rows of z."""
    z = np.asarray(z, dtype=float)
    m = np.max(z, axis=-1, keepdims=True)
    logp = z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))
    return -np.sum(onehot(labels, z.shape[-1]) * logp)


def setitem(a, index, value):
    """``a`` with ``a[index] = value``, as a new array (course code's in-place ``x[i] = v``,
    staged functionally so the gradient can flow)."""
    out = a.copy()
    out[index] = value
    return out
