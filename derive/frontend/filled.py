"""``np.zeros((N, H))``, ``np.ones(4)``: arrays of zeros or ones with the sizes written out.

Read by the array reader (``derive.frontend.arrays``): each size is a constant or a size of the
inputs (``N, T, D = x.shape``, ``H = h0.shape[1]``), one argument of a ``zeros``/``ones`` gate
(rows in ``derive.core.rows_numpy``: no gradient), so ``h = np.zeros((N, T, H))`` prints as
written and holds the initial state of a loop. ``np.zeros(W.shape)`` stays ``np.zeros_like(W)``.
"""
from __future__ import annotations

import ast

from derive.core.errors import DeriveError

FILLS = {"np.zeros": "zeros", "numpy.zeros": "zeros", "np.ones": "ones", "numpy.ones": "ones"}
MAX_SIZES = 4


def filled(reader, n, fname):
    """The gate of ``np.zeros(sizes)`` / ``np.ones(sizes)``; sizes a tuple, a list or one size."""
    if n.keywords or len(n.args) != 1:
        reader.fail(f"{fname}() other than {fname}((N, H)) with the sizes only (no dtype=)", n)
    arg = n.args[0]
    parts = list(arg.elts) if isinstance(arg, (ast.Tuple, ast.List)) else [arg]
    if not 1 <= len(parts) <= MAX_SIZES:
        raise DeriveError(f"{fname}() at line {n.lineno}: give one to {MAX_SIZES} sizes, as in {fname}((N, H))")
    sizes = []
    for e in parts:
        node = reader.expr(e)
        if not _size(node):
            raise DeriveError(f"{fname}() at line {n.lineno}: the size {ast.unparse(e)[:30]} is not a constant or "
                              f"a size of the inputs (N = x.shape[0]); write the sizes so")
        sizes.append(node)
    listed = ", ".join("{%d}" % i for i in range(len(sizes))) + ("," if len(sizes) == 1 else "")
    return reader.g.op(FILLS[fname], *sizes, opts=(("subscript", listed),))


def _size(node) -> bool:
    """An integer known from the shapes: constants, sizes and arithmetic on them."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.is_const:
            if not n.value.is_Integer or n.value < 1:
                return False
            continue
        if n.op in ("shape", "row_size"):
            continue
        if n.is_input or n.op not in ("add", "mul", "sub", "floordiv"):
            return False
        stack.extend(n.args)
    return True
