"""Rows for the NumPy that course code calls (np.var, np.max, reshape, np.zeros_like): field data.

Each entry is the fields of one ``derive.core.rules.ArrayRule`` (``rules.py`` builds the rows from
them, so this module imports nothing of derive's). Method spellings (``x.var(axis=0)``) are in
the same row as the ``np.`` spelling, written with a leading dot (``".var"``).
Templates: ``{0}`` ... the arguments, ``{y}`` the gate's output, ``{g}`` its adjoint,
``{axis}``/``{kw}`` its options; a vjp of None means no gradient flows to that argument.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from derive.core import primitives


def _ex(params, body, **shapes):
    return (params, body, shapes)


def _reduce(one):
    """A reduction over an object array of SymPy values, with NumPy's axis/keepdims."""
    def red(a, axis=None, keepdims=False):
        a = np.asarray(a, dtype=object)
        if axis is None:
            out = np.array(one(list(a.flat)), dtype=object)
            return out.reshape((1,) * a.ndim) if keepdims else out
        out = np.apply_along_axis(lambda v: one(list(v)), axis, a)
        return np.expand_dims(out, axis) if keepdims else out
    return red


def _filled(value):
    """np.zeros / np.ones on SymPy values: an object array, so a write of an expression fits."""
    def fill(shape):
        shape = (shape,) if np.ndim(shape) == 0 else shape
        return np.full(tuple(int(n) for n in shape), sp.Integer(value), dtype=object)
    return fill


def _var(values):
    m = sum(values) / len(values)
    return sum((v - m) ** 2 for v in values) / len(values)


_DEV = "({0} - np.mean({0}, axis={axis}, keepdims=True))"
_TIE_AXIS = "({0} == np.expand_dims({y}, {axis}))"
_TIE_KEEP = "({0} == {y})"

#: The fields of each new array row.
ARRAY_ROWS = [
    dict(name="var", arity=1, forward="np.var({0}{kw})",
         vjps=("({0} - np.mean({0})) * (2 * {g} / {0}.size)",),   # constants on the small side
         short="var{0}",
         variants=(("axis", (f"{_DEV} * np.expand_dims(2 * {{g}} / {{0}}.shape[{{axis}}], {{axis}})",)),
                   ("keepdims", (f"{_DEV} * (2 * {{g}} / {{0}}.shape[{{axis}}])",))),
         calls=("np.var", "numpy.var", ".var"),
         doc="variance (uncorrected): d var = 2 (x - mean) / n",
         examples=(_ex("A", "np.var(np.sin(A))", A=(3, 2)),
                   _ex("A, B", "np.sum(np.var(A, axis=0) * B)", A=(3, 2), B=(2,)),
                   _ex("A, B", "np.sum(A.var(axis=1, keepdims=True) * B)", A=(3, 2), B=(3, 2))),
         label="var", options=("axis", "keepdims"), symbolic=_reduce(_var)),
    dict(name="amax", arity=1, forward="np.max({0}{kw})",
         vjps=("({0} == {y}) / np.sum({0} == {y}) * {g}",),
         short="max{0}",
         variants=(("axis", (f"{_TIE_AXIS} / np.sum({_TIE_AXIS}, axis={{axis}}, keepdims=True)"
                             " * np.expand_dims({g}, {axis})",)),
                   ("keepdims", (f"{_TIE_KEEP} / np.sum({_TIE_KEEP}, axis={{axis}}, keepdims=True) * {{g}}",))),
         calls=("np.max", "numpy.max", "np.amax", "numpy.amax", ".max"),
         doc="largest element: the gradient goes to the largest (split equally at a tie)",
         examples=(_ex("A", "np.max(np.sin(A))", A=(3, 2)),
                   _ex("A, B", "np.sum(np.max(A, axis=1) * B)", A=(3, 2), B=(3,)),
                   _ex("A, B", "np.sum(np.exp(A - A.max(axis=1, keepdims=True)) * B)", A=(3, 2), B=(3, 2))),
         label="max", options=("axis", "keepdims"), symbolic=_reduce(lambda v: sp.Max(*v))),
    dict(name="reshape", arity=5, forward="{0}.reshape({index})",
         vjps=("{g}.reshape({0}.shape)", None, None, None, None), short="{0}r",
         calls=(".reshape", "np.reshape", "numpy.reshape"),
         doc="reshape to one to four sizes (N * T, D): the adjoint is reshaped back",
         examples=(_ex("A, B", "np.sum(np.sin(A.reshape(2, -1)) * B)", A=(3, 2), B=(2, 3)),
                   _ex("A, B", "np.sum(np.reshape(A, (A.shape[0], -1)) * B)", A=(3,), B=(3, 1)),
                   _ex("A, B", "np.sum(np.sin(A.reshape(A.shape[0] * A.shape[1], -1)) * B)", A=(2, 3, 2), B=(6, 2)),
                   _ex("A, B", "np.sum(np.sin(A.reshape(2, 3, 2)) * B.reshape(-1))", A=(3, 4), B=(1, 2))),
         label="reshape"),
    dict(name="row_size", arity=1, forward="{0}.size // {0}.shape[0]", vjps=(None,), short="size{0}",
         calls=(), doc="np.prod(x.shape[1:]), the size of one row (affine_forward's reshape): no gradient",
         examples=(_ex("A, B", "np.sum(A.reshape(A.shape[0], np.prod(A.shape[1:])) * B)", A=(3, 2), B=(3, 2)),),
         label="size"),
    dict(name="split_bound", arity=1, forward="{0}.shape[{axis}] * {index}", vjps=(None,), short="{0}cut",
         calls=(), doc="where part i of np.split(x, k) starts: x.shape[axis] * i // k (a size): no gradient",
         examples=(_ex("A, B", "np.sum(np.sin(np.hsplit(A, 2)[1]) * B)", A=(3, 4), B=(3, 2)),),
         label="split"),
    dict(name="setitem", arity=6, forward="setitem({0}, {index}, {1})",
         vjps=("setitem({g}, {index}, 0)", "{g}[{index}]", None, None, None, None), short="{0}s",
         calls=("setitem",),
         doc="x[i] = v on an array the function made (x[mask] = ..., x[np.arange(N), y] -= 1), staged as a new "
             "array: the gradient of x is zero where it was overwritten, v gets the adjoint's entries there",
         examples=(_ex("A, B", "np.sum(setitem(A, (0,), B[0] * 2) * B)", A=(3, 2), B=(3, 2)),),
         label="[]=", impl=primitives.setitem, symbolic=primitives.setitem),
    dict(name="ones_like", arity=1, forward="np.ones_like({0})", vjps=(None,), short="ones{0}",
         calls=("np.ones_like", "numpy.ones_like"), doc="an array of ones shaped like x: no gradient",
         examples=(_ex("A, B", "np.sum((np.ones_like(A) * 2 + A) * B)", A=(3, 2), B=(3, 2)),),
         label="1", symbolic=np.ones_like),
    *[dict(name=name, arity=4, forward=f"np.{name}(({{index}}))", vjps=(None,) * 4, short=name,
           calls=(f"np.{name}", f"numpy.{name}"),
           doc=f"np.{name}((N, H)) with the sizes written out (constants or sizes of the inputs): no gradient",
           examples=(_ex("A, B", f"np.sum((np.{name}((A.shape[0], 2)) + A) * B)", A=(3, 2), B=(3, 2)),
                     _ex("A", f"np.sum(np.{name}(A.shape[1]) * np.sin(A))", A=(3, 2))),
           label=label, symbolic=_filled(value))
      for name, label, value in (("zeros", "0", 0), ("ones", "1", 1))],
    dict(name="zeros_like", arity=1, forward="np.zeros_like({0})", vjps=(None,), short="zeros{0}",
         calls=("np.zeros_like", "numpy.zeros_like"), doc="an array of zeros shaped like x: no gradient",
         examples=(_ex("A, B", "np.sum((np.zeros_like(A) + A) * B)", A=(3, 2), B=(3, 2)),),
         label="0", symbolic=np.zeros_like),
]
