"""The array gates' rows: NumPy templates and vector-Jacobian products, one ``ArrayRule`` each.

Part of the rule table (``derive.core.rules`` builds ``ARRAY_RULES`` and every other table from
these rows and from ``rows_numpy``); scalar gates that also work elementwise on arrays are the
scalar rows. This module holds data only and imports nothing of derive's beyond the numeric
primitives and SymPy classes the rows name.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from derive.core import primitives
from derive.core.functions import maximum, minimum

# ---- arrays --------------------------------------------------------------------------------
# Gates that exist only for NumPy arrays (derive.staging.arrays). Elementwise gates on arrays are the
# rows above: their local gradient, printed with NumPy names, times the upstream adjoint.
# Here the rules are NumPy code templates (data, not closures): ``{0}``, ``{1}`` are the
# arguments, ``{y}`` the gate's output, ``{g}`` its adjoint (upstream), ``{axis}`` and ``{kw}``
# the gate's options. A vjp of None means the argument gets no gradient (labels, shapes).
# ``variants`` pick other templates by the arguments' numbers of dimensions ("2,1") or by the
# options ("axis", "keepdims"); without known shapes the 2-D templates are used.


#: The most arrays one np.stack / np.concatenate joins (one vjp template per part).
MAX_PARTS = 1024


@dataclass(frozen=True)
class ArrayRule:
    """One array gate: its NumPy spelling and the vector-Jacobian product of each argument."""

    name: str
    arity: int
    forward: str              # NumPy template of the forward line's right-hand side
    vjps: tuple               # per argument: template of its adjoint contribution, or None
    short: str = ""           # pattern for generated names ("{0}{1}": W1 @ x -> W1x)
    variants: tuple = ()      # ((key, vjps), ...) chosen by ndims "2,1" or options "axis"
    calls: tuple = ()         # Python spellings that create this gate
    doc: str = ""
    examples: tuple = ()      # (params, body, shapes) that the tests check, one per variant
    label: str = ""           # gate label in circuits (default: the name)
    options: tuple = ()       # keyword options the call accepts ("axis", "keepdims")
    elementwise: bool = False  # broadcasts like + (a broadcast argument's adjoint is summed)
    symbolic: object = field(default=None, compare=False)  # the call on arrays of SymPy symbols
    impl: object = field(default=None, compare=False)      # NumPy function of a bare spelling
    expand: str = ""          # the gate in primitive gates: a function body in a, b
    mask: bool = False        # a comparison: a boolean array, constant near the point (no gradient)
    fast: tuple = ()          # speed path: ((ndim of {0}, forward statements, vjp statements), ...)


def _ex(params, body, **shapes):
    return (params, body, shapes)


def _sym_mean(a, axis=None, keepdims=False):
    return np.sum(a, axis=axis, keepdims=keepdims) / (a.size if axis is None else a.shape[axis])


def _sym_sce(z, labels):
    z = np.atleast_2d(z)
    labels = np.atleast_1d(labels)
    return sum(-z[i, k] + sp.log(sum(sp.exp(v) for v in z[i])) for i, k in enumerate(labels))


#: The fused softmax-cross-entropy gate in primitive gates (args a = scores, b = labels),
#: for learners who want to see why its backward line is probs - onehot(y).
SOFTMAX_CE_EXPANSION = """\
e = np.exp(a)
s = np.sum(e, axis=-1, keepdims=True)
logs = np.log(s)
logp = a - logs
Y = onehot(b, a.shape[-1])
t = Y * logp
return -np.sum(t)
"""


#: The speed path's fused softmax/cross-entropy (derive.staging.optimize): the forward line keeps
#: exp(z - max) and its row sums ({t}_e, {t}_s) so that the backward line divides instead of
#: computing the softmax again, and subtracts 1 at the labels instead of building onehot(y).
_SCE_FAST_FORWARD = ("{t}_m = np.max({0}, axis=-1, keepdims=True)", "{t}_e = np.exp({0} - {t}_m)",
                     "{t}_s = np.sum({t}_e, axis=-1, keepdims=True)")


ARRAY_ROWS: list = [
    ArrayRule("matmul", 2, "{0} @ {1}", ("{g} @ {1}.T", "{0}.T @ {g}"), "{0}{1}",
              (("2,1", ("np.outer({g}, {1})", "{0}.T @ {g}")),
               ("1,2", ("{g} @ {1}.T", "np.outer({0}, {g})")),
               ("1,1", ("{g} * {1}", "{g} * {0}")),
               # a stack of matrices (N, T, D): "n" is 3 or more dimensions
               ("n,2", ("{g} @ {1}.T", "{0}.reshape(-1, {0}.shape[-1]).T @ {g}.reshape(-1, {g}.shape[-1])")),
               ("n,1", ("{g}[..., None] * {1}", "{0}.reshape(-1, {0}.shape[-1]).T @ {g}.reshape(-1)")),
               ("n,n", ("{g} @ np.swapaxes({1}, -1, -2)", "np.swapaxes({0}, -1, -2) @ {g}"))),
              ("np.dot", "numpy.dot", "np.matmul", "numpy.matmul", ".dot"),
              "matrix product: dA = dY B^T, dB = A^T dY (outer products for vectors)",
              (_ex("A, B", "np.sum(np.tanh(A @ B))", A=(3, 2), B=(2, 4)),
               _ex("A, B", "np.sum(np.tanh(np.dot(A, B)))", A=(3, 2), B=(2,)),
               _ex("A, B", "np.sum(np.tanh(A @ B))", A=(3,), B=(3, 2)),
               _ex("A, B", "np.tanh(A @ B)", A=(3,), B=(3,)),
               _ex("A, B", "np.sum(np.tanh(A @ B))", A=(2, 3, 2), B=(2, 4)),
               _ex("A, B", "np.sum(np.tanh(A.dot(B)))", A=(2, 2, 3), B=(3,)),
               _ex("A, B", "np.sum(np.tanh(A @ B))", A=(2, 3, 2), B=(2, 2, 3))), label="@",
              symbolic=lambda a, b: a @ b),
    ArrayRule("transpose", 1, "{0}.T", ("{g}.T",), "{0}T", (), ("np.transpose", "numpy.transpose", ".transpose"),
              "transpose: the adjoint is transposed back",
              (_ex("A, B", "np.sum(np.sin(A.T) * B)", A=(2, 3), B=(3, 2)),
               _ex("A, B", "np.sum(np.sin(A.T) * B)", A=(2, 3, 2), B=(2, 3, 2))), label=".T",
              symbolic=np.transpose),
    ArrayRule("transpose_axes", 1, "np.transpose({0}, {index})", ("np.transpose({g}, {axis})",), "{0}T", (), (),
              "np.transpose(x, axes) / x.transpose(0, 2, 1): the adjoint goes back by the inverse permutation",
              (_ex("A, B", "np.sum(np.sin(np.transpose(A, (1, 2, 0))) * B)", A=(2, 3, 2), B=(3, 2, 2)),
               _ex("A, B", "np.sum(np.sin(A.transpose(0, 2, 1)) * B)", A=(2, 3, 2), B=(2, 2, 3))),
              label=".T"),
    ArrayRule("stack", MAX_PARTS, "np.stack([{index}]{kw})", ("{g}[{index}]",) * MAX_PARTS, "stack", (),
              ("np.stack", "numpy.stack"),
              "np.stack(list, axis=k): each array's adjoint is its slice of the stack's (dhs[:, t])",
              (_ex("A, B", "np.sum(np.sin(np.stack([A, B * A, B], axis=1)) * B[:, None])", A=(2, 3), B=(2, 3)),
               _ex("A, B", "np.sum(np.stack([np.tanh(A), B], axis=-1) ** 2)", A=(2, 2, 2), B=(2, 2, 2))),
              options=("axis",), symbolic=lambda xs, axis=0: np.stack(xs, axis=axis)),
    ArrayRule("concatenate", MAX_PARTS, "np.concatenate([{index}]{kw})", ("{g}[{index}]",) * MAX_PARTS, "cat", (),
              ("np.concatenate", "numpy.concatenate"),
              "np.concatenate(list, axis=k): the adjoint is split back into the parts' slices",
              (_ex("A, B", "np.sum(np.sin(np.concatenate([A, B, A], axis=1)) ** 2)", A=(2, 2), B=(2, 3)),
               _ex("A, B", "np.sum(np.tanh(np.concatenate([A, B]))[1:3] * np.concatenate([B, A], axis=-1)[:, 1:3])",
                   A=(2, 2), B=(2, 2))),
              label="cat", options=("axis",), symbolic=lambda xs, axis=0: np.concatenate(xs, axis=axis)),
    ArrayRule("sum", 1, "np.sum({0}{kw})", ("{g} * np.ones_like({0})",), "sum{0}",
              (("axis", ("np.expand_dims({g}, {axis}) * np.ones_like({0})",)),),
              ("np.sum", "numpy.sum", ".sum"), "sum: the adjoint is copied to every summed element",
              (_ex("A", "np.sum(np.sin(A))", A=(3, 2)),
               _ex("A", "np.sum(np.sin(np.sum(A, axis=1)))", A=(3, 2)),
               _ex("A, B", "np.sum(np.sum(A, axis=0, keepdims=True) * B)", A=(3, 2), B=(2, 2)),
               _ex("A, B", "np.sum(np.sin(np.sum(A, axis=-2)) * B)", A=(2, 3, 2), B=(2, 2)),
               _ex("A, B", "np.sum(A.sum(axis=1, keepdims=True) * B)", A=(2, 3, 2), B=(2, 3, 2))),
              label="Σ", options=("axis", "keepdims"), symbolic=lambda a, **kw: np.sum(a, **kw)),
    ArrayRule("mean", 1, "np.mean({0}{kw})", ("{g} / {0}.size * np.ones_like({0})",), "mean{0}",
              (("axis", ("np.expand_dims({g} / {0}.shape[{axis}], {axis}) * np.ones_like({0})",)),
               ("keepdims", ("{g} / {0}.shape[{axis}] * np.ones_like({0})",))),
              ("np.mean", "numpy.mean", ".mean"), "mean: a sum divided by the count",
              (_ex("A", "np.mean(np.sin(A))", A=(3, 2)),
               _ex("A", "np.sum(np.sin(np.mean(A, axis=0)))", A=(3, 2)),
               _ex("A, B", "np.sum(np.mean(A, axis=1, keepdims=True) * B)", A=(3, 2), B=(3, 4)),
               _ex("A, B", "np.sum(np.sin(np.mean(A, axis=-1)) * B)", A=(2, 3, 2), B=(2, 3))),
              options=("axis", "keepdims"), symbolic=_sym_mean),
    ArrayRule("norm", 1, "np.linalg.norm({0})", ("({0} / {y}) * {g}",), "norm{0}", (),
              ("np.linalg.norm", "numpy.linalg.norm"), "Euclidean norm: d||x|| = x / ||x||",
              (_ex("A", "np.linalg.norm(np.sin(A))", A=(3, 2)),),
              symbolic=lambda a: sp.sqrt(np.sum(a * a))),
    ArrayRule("shape", 1, "{0}.shape[{axis}]", (None,), "", (), (),
              "a size (a constant once shapes are known): no gradient",
              (_ex("A", "np.sum(A ** 2) / A.shape[0]", A=(3, 2)),)),
    ArrayRule("onehot", 2, "onehot({0}, {1})", (None, None), "onehot{0}", (),
              ("onehot", "derive.onehot"), "labels as one-hot rows: no gradient",
              (_ex("A, y", "np.sum(onehot(y, A.shape[1]) * np.exp(A))", A=(3, 2), y=(3,)),),
              impl=primitives.onehot),
    ArrayRule("softmax_cross_entropy", 2, "softmax_cross_entropy({0}, {1})",
              ("(softmax({0}) - onehot({1}, {0}.shape[-1])) * {g}", None), "loss", (),
              ("softmax_cross_entropy", "derive.softmax_cross_entropy"),
              "fused softmax + cross-entropy, summed over rows: dscores = probs - onehot(y)",
              (_ex("A, B, y", "softmax_cross_entropy(A @ B, y)", A=(3, 2), B=(2, 4), y=(3,)),
               _ex("A, y", "softmax_cross_entropy(A, y)", A=(3,), y=())), label="xent",
              symbolic=_sym_sce, impl=primitives.softmax_cross_entropy, expand=SOFTMAX_CE_EXPANSION,
              fast=tuple((nd, _SCE_FAST_FORWARD + (f"{{y}} = np.sum(np.log({{t}}_s) + {{t}}_m) - np.sum({{0}}[{i}])",),
                          ("{d} = {t}_e / {t}_s", f"{{d}}[{i}] -= 1"))
                         for nd, i in ((1, "{1}"), (2, "np.arange({1}.shape[0]), {1}")))),
    ArrayRule("index", 5, "{0}[{index}]", ("{d}[{index}] += {g}", None, None, None, None), "{0}i",
              (("advanced", ("np.add.at({d}, {indices}, {g})", None, None, None, None)),
               ("advanced, slices", ("np.add.at({d}, np.s_[{index}], {g})", None, None, None, None))), (),
              "indexing and slicing (a gather): the adjoint is scattered back into zeros; "
              "integer-array indices (W[x], x[np.arange(N), y]) repeat, so np.add.at adds them up",
              (_ex("A", "np.sum(np.sin(A[:, :1])) + np.sum(A[0] ** 2) + np.sum(A[1:] * A[:2])", A=(3, 2)),
               _ex("A, y", "np.sum(np.sin(A[y]) * A[y])", A=(3, 2), y=(5,)),
               _ex("A, y", "np.sum(np.exp(A[np.arange(A.shape[0]), y]))", A=(3, 2), y=(3,)),
               _ex("A, y", "np.sum(np.exp(A[np.arange(A.shape[0]), :, y]))", A=(3, 2, 2), y=(3,)),
               _ex("A", "np.sum(np.sin(A[:, 1, ::2]) * A[1, :, 1:]) + np.sum(A[..., 0] ** 2)", A=(2, 2, 3))),
              label="[]"),
    ArrayRule("arange", 1, "np.arange({0})", (None,), "range{0}", (), ("np.arange", "numpy.arange"),
              "0, 1, ..., n - 1: row numbers for a gather such as x[np.arange(N), y]; no gradient",
              (_ex("A, y", "np.sum(A[np.arange(3), y] ** 2)", A=(3, 2), y=(3,)),),
              symbolic=lambda n: np.arange(int(n))),
    *[ArrayRule(name, 2, f"{{0}} {sym} {{1}}", (None, None), f"{{0}}{short}{{1}}", (), (),
                f"a comparison (a boolean mask, as in x[x {sym} 0]): no gradient",
                (_ex("A", f"np.sum(np.sin(A[A {sym} 0.25]) ** 2)", A=(3, 2)),), label=sym, mask=True)
      for name, sym, short in (("greater", ">", "gt"), ("less", "<", "lt"), ("greater_equal", ">=", "ge"),
                               ("less_equal", "<=", "le"))],
    ArrayRule("where", 3, "np.where({0}, {1}, {2})", (None, "np.where({0}, {g}, 0)", "np.where({0}, 0, {g})"),
              "sel{1}", (), ("np.where", "numpy.where"),
              "np.where(mask, a, b) (and a if mask else b on arrays): a select; the gradient goes to the side taken, "
              "the mask (a comparison on the data) carries it and gets none",
              (_ex("A, B", "np.sum(np.where(A > 0, A, 0.1 * A) * B)", A=(3, 2), B=(3, 2)),
               _ex("A, B", "np.sum(np.sin(np.where(A < B, A * B, B)))", A=(2, 3, 2), B=(3, 2)),
               _ex("A", "np.sum(np.where(A >= 0.0, np.exp(A), 1.0) ** 2)", A=(2, 2))),
              label="?", elementwise=True, symbolic=np.where),
    ArrayRule("clip", 3, "np.clip({0}, {1}, {2})",
              ("{g} * (({1} <= {0}) & ({0} <= {2}))", "{g} * (({0} < {1}) & ({1} <= {2}))",
               "{g} * (({0} > {2}) | ({1} > {2}))"),
              "clip{0}", (), ("np.clip", "numpy.clip"),
              "np.clip(x, lo, hi) = min(max(x, lo), hi): the gradient goes to whichever of the three is out",
              (_ex("A", "np.sum(np.clip(A, -0.5, 0.5) * np.sin(A))", A=(3, 2)),
               _ex("A, L, H", "np.sum(np.clip(A, L, H) ** 2)", A=(3, 2), L=(3, 2), H=(2,))),
              elementwise=True, symbolic=np.frompyfunc(lambda x, lo, hi: minimum(maximum(x, lo), hi), 3, 1)),
]
