"""Numbers the reader needs while unrolling loops and taking branches: graph nodes evaluated.

``Control`` is what the stager hands the body reader (``Graph.control``): ``unroll`` (read ``for``
loops once per iteration) and the point given with ``at=`` (data branches and ``while`` loops are
taken there). ``number(node)`` evaluates a node of the graph built so far: sizes (``X.shape[0]``)
from the shapes alone (zeros of those shapes), anything that depends on the data only at the
point (else ``NeedPoint``, which the reader turns into one line saying to give ``at=``). Each
gate is computed by its printed NumPy line (``derive.printing``), compiled once per text.
"""
from __future__ import annotations

import re

import numpy as np

from derive.core.errors import DeriveError
from derive.core.naming import symbol
from derive.core.numerics import ARRAY_NS
from derive.core.rules import RULES
from derive.frontend.loops import NeedPoint
from derive.printing.printers import NumpyPrinter
from derive.staging.program import ArrayCall, Line

_P = NumpyPrinter()
_SIZES = ("shape", "row_size")
_CODE: dict = {}


class Control:
    """How loops and data branches are read: ``unroll``, and the point ``at`` (or None)."""

    def __init__(self, unroll=False, at=None, shapes=None):
        self.unroll = bool(unroll)
        self.point = None if at is None else {k: _array(k, v) for k, v in at.items()}
        self.shapes = dict(shapes or {})
        if self.point is not None:
            self.shapes.update({k: np.shape(v) for k, v in self.point.items()})
        self._values = {}   # id(node) -> value at the point (or on zeros, for sizes)
        self._data = {}     # id(node) -> does it depend on the inputs' values (not only shapes)?
        self.used_data = False  # did the condition being read need the point?
        self.sized = False      # did reading use the input shapes (a trip count, a size condition)?

    def number(self, node, where, text):
        """The value of ``node`` (sizes from the shapes; data only at the point)."""
        if self._on_data(node):
            if self.point is None:
                raise NeedPoint(f"{text} at {where} depends on the data: stage at a point (at=...)")
            self.used_data = True  # the condition being read is taken at the point
        return self._value(node, where, text)

    def shape(self, node, where, text):
        return tuple(np.shape(self._value(node, where, text)))

    def check_shapes(self, shapes):
        """A program read with sizes (``range(N)`` with ``N = X.shape[0]``) holds only for them."""
        if not self.sized:
            return
        for p, given in shapes.items():
            if p in self.shapes and tuple(given) != tuple(self.shapes[p]):
                raise DeriveError(f"this program was staged for {p} of shape {tuple(self.shapes[p])} (its loops or "
                                  f"branches used the sizes): stage it again for shape {tuple(given)}")

    def _on_data(self, node) -> bool:
        stack = [node]
        while stack:
            n = stack.pop()
            if id(n) in self._data:
                continue
            pending = [a for a in n.args if id(a) not in self._data] if n.op not in _SIZES else []
            if pending:
                stack.append(n)
                stack.extend(pending)
                continue
            self._data[id(n)] = n.is_input or n.op not in _SIZES and any(self._data[id(a)] for a in n.args)
        return self._data[id(node)]

    def _input(self, node, where, text):
        self.sized = True
        name = str(node.value)
        m = re.fullmatch(r"(\w+)\[(\d+)\]", name)  # a scalar function's list element w[0]
        base = m.group(1) if m else name
        if self.point is not None and base in self.point:
            v = self.point[base]
            return v[int(m.group(2))] if m else np.asarray(v) if isinstance(v, list) else v
        if base in self.shapes:
            return np.zeros(self.shapes[base])
        raise NeedPoint(f"{text} at {where} needs the shape of {base}: give shapes= (--shapes) or a point (at=, --at)")

    def _value(self, node, where, text):
        stack = [node]
        while stack:
            n = stack[-1]
            if id(n) in self._values:
                stack.pop()
                continue
            if n.is_const:
                self._values[id(n)] = float(n.value) if not n.value.is_Integer else int(n.value)
                stack.pop()
                continue
            if n.is_input:
                self._values[id(n)] = self._input(n, where, text)
                stack.pop()
                continue
            pending = [a for a in n.args if id(a) not in self._values]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            self._values[id(n)] = _gate(n, [self._values[id(a)] for a in n.args], where)
        return self._values[id(node)]


def _array(name, v):
    if isinstance(v, (list, tuple)):  # a scalar function's list (w[0]) or an array written as lists
        try:
            np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            raise DeriveError(f"at: {name} must hold numbers") from None
        return list(v)
    if isinstance(v, (int, float, np.ndarray, np.number)) and not isinstance(v, bool):
        return v
    raise DeriveError(f"at: {name} must be a number or a NumPy array, not {type(v).__name__}")


def _gate(n, values, where):
    """One gate's value: its printed NumPy line run on the arguments' values."""
    syms = [symbol(f"_a{i}") for i in range(len(values))]
    rhs = RULES[n.op].build(*syms) if n.op in RULES else \
        ArrayCall(n.op, tuple(syms), n.opt("axis"), bool(n.opt("keepdims")), n.opt("subscript", ""))
    text = str(Line(0, symbol("_r"), n.op, tuple(syms), rhs))
    code = _CODE.get(text)
    if code is None:
        code = _CODE[text] = compile(text, "<derive gate>", "exec")
    env = dict(ARRAY_NS, **{f"_a{i}": v for i, v in enumerate(values)})
    try:
        with np.errstate(all="ignore"):
            exec(code, env)  # derive's printed line for one gate
    except (ValueError, IndexError, TypeError, ZeroDivisionError) as err:
        raise DeriveError(f"at {where}, computing `{text[5:]}` at the point failed: {str(err)[:120]}") from None
    return env["_r"]

