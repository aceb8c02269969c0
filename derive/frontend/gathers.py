"""Indexing in an array function: ``a[:, :H]``, ``x[::2]``, ``W[x]``, ``x[np.arange(N), y]`` as one
``index`` gate, ``np.split``/``np.hsplit`` as its slices, ``x[i] = v`` as ``setitem``.

Functions of the array reader (``derive.frontend.arrays``), which calls them with itself.
"""
from __future__ import annotations

import ast
import re

from derive.core.rules import ARRAY_RULES
from derive.frontend.config import Pack
from derive.frontend.parse import _dotted

SPLITS = ("np.hsplit", "numpy.hsplit", "np.split", "numpy.split")


def split(reader, n):
    """``np.hsplit(a, 4)``, ``np.split(a, 2, axis=1)``: a tuple of ``index`` gates, one per part."""
    fname = _dotted(n.func)
    kw = {k.arg: k.value for k in n.keywords}
    count = n.args[1] if len(n.args) > 1 else None
    axis = kw.pop("axis", n.args[2] if len(n.args) > 2 else None)
    if len(n.args) not in (2, 3) or kw or not (isinstance(count, ast.Constant) and type(count.value) is int
                                              and count.value > 0):
        reader.fail(f"{fname}() other than {fname}(a, k) with a constant number of equal parts k", n)
    if axis is None:
        axis = -1 if fname.endswith("hsplit") else 0
    elif isinstance(axis, ast.Constant) and type(axis.value) is int:
        axis = axis.value
    else:
        reader.fail(f"{fname}() with an axis that is not a constant", n)
    base, k = reader.expr(n.args[0]), count.value
    lead = "..., " if axis == -1 else ":, " * axis
    if axis < -1:
        reader.fail(f"{fname}() along axis {axis} (use axis=-1 or a non-negative axis)", n)
    parts = []
    for i in range(k):
        lo = reader.g.op("split_bound", base, opts=(("axis", axis), ("subscript", f"{i} // {k}"))) if i else None
        hi = reader.g.op("split_bound", base, opts=(("axis", axis), ("subscript", f"{i + 1} // {k}"))) \
            if i < k - 1 else None
        args = [a for a in (lo, hi) if a is not None]
        text = f"{'{1}' if lo is not None else ''}:{('{%d}' % len(args)) if hi is not None else ''}"
        parts.append(reader.g.op("index", base, *args, opts=(("subscript", lead + text), ("advanced", False))))
    return Pack(tuple(parts))


def subscript(reader, n):
    """``a[:, :H]``, ``x[0]``, ``W[x]``, ``x[np.arange(N), y]``: one ``index`` gate whose
    index arguments are nodes ({1}, {2}, ...); an index that is not a slice or an integer
    constant (an integer array) makes it advanced indexing (scattered back by np.add.at)."""
    base, args, advanced = reader.expr(n.value), [], False
    parts = n.slice.elts if isinstance(n.slice, ast.Tuple) else [n.slice]

    def piece(e):
        if e is None:
            return ""
        if isinstance(e, ast.Constant) and e.value is None or _dotted(e) in ("np.newaxis", "numpy.newaxis"):
            return "None"  # a new axis of length 1: a[:, np.newaxis]
        if isinstance(e, ast.Constant) and e.value is Ellipsis:
            return "..."
        k = e.operand if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub) else e
        if isinstance(k, ast.Constant) and type(k.value) is int:
            return str(-k.value if k is not e else k.value)
        args.append(reader.expr(e))
        return "{%d}" % len(args)
    texts = []
    for p in parts:
        if isinstance(p, ast.Slice):
            text = f"{piece(p.lower)}:{piece(p.upper)}"
            texts.append(text + (f":{piece(p.step)}" if p.step is not None else ""))  # x[::2], a[:, 1::2]
        else:
            text = piece(p)  # an integer array may repeat (np.add.at); a mask or a number may not (+=)
            advanced = advanced or text.startswith("{") and not reader.basic_index(args[-1])
            texts.append(text)
    if len(args) > ARRAY_RULES["index"].arity - 1:
        reader.fail("indexing with more than four index arrays", n)
    return reader.g.op("index", base, *args, opts=(("subscript", ", ".join(texts)), ("advanced", advanced)))


def set_index(reader, target: ast.Subscript, value, op=None):
    """``x[i] = v`` (``op``: ``x[i] -= v``) as a new array ``setitem(x, (i,), v)``: the
    gather ``x[i]`` gives the index arguments (and the old values for ``-=``)."""
    gather = reader.subscript(target)
    if op is not None:
        value = reader.g.op(op, gather, value)
    sub = as_tuple(gather.opt("subscript"))
    return reader.g.op("setitem", gather.args[0], value, *gather.args[1:], opts=(("subscript", sub),))


def as_tuple(subscript: str) -> str:
    """An index subscript as a tuple expression (``:, :{1}`` -> ``(slice(None, {2}), ...)``),
    its placeholders moved one on (setitem's arguments are the array, the value, the indices)."""
    parts = []
    for piece in subscript.split(", "):
        piece = re.sub(r"\{(\d+)\}", lambda m: "{%d}" % (int(m.group(1)) + 1), piece)
        if piece == "...":
            piece = "Ellipsis"
        elif ":" in piece:
            bounds = [b or "None" for b in piece.split(":")]
            piece = f"slice({', '.join(bounds)})"
        parts.append(piece)
    return "(" + ", ".join(parts) + ",)"
