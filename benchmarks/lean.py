"""Diagnostic peer: derive's own generated source with the two changes proposed to the core.

Not a competitor: it shows what derive's evaluation would cost if ``derive/evaluate.py``
(1) returned only the gradient instead of every intermediate and adjoint, (2) unpacked list
parameters into locals (``W1_0, W1_1 = W1``) and built the gradient lists at the end instead
of indexing lists on every read and write, and if ``derive/primitives.py`` gave the ``math``
namespace a float-only ``sigmoid`` (no NumPy/mpmath type checks). It rewrites the source
that ``prog.gradient_function("math")`` compiles; the result is checked against derive's
gradient before it is timed.
"""
from __future__ import annotations

import math
import re

from derive.primitives import MATH_NS

_INIT = re.compile(r"\s+\w+ = \[0\.0\] \* \d+$")
_ITEM = re.compile(r"\b([A-Za-z_]\w*)\[(\d+)\]")


def fast_sigmoid(x):
    """1 / (1 + exp(-x)) for floats, without overflow."""
    if x < -709.0:
        return math.exp(x)
    return 1.0 / (1.0 + math.exp(-x))


def lean_source(prog) -> str:
    src = prog.gradient_function("math")[4]
    lines = src.splitlines()
    body = [_ITEM.sub(r"\1_\2", ln) for ln in lines[1:-1] if not _INIT.match(ln)]
    head = [f"    {', '.join(f'{p}_{i}' for i in range(s))}, = {p}" for p, s in prog.params if s]
    written = set(re.findall(r"^\s+(\w+) \+?=", "\n".join(body), re.M))
    inits, rets = [], []
    for p, s in prog.params:
        adj = prog.adjoints[next(x for x in prog.inputs if x.name == (p if s is None else f"{p}[0]"))].name
        if s is None:
            inits += [] if adj in written else [f"    {adj} = 0.0"]
            rets.append(adj)
        else:
            base = adj.split("[")[0]
            names = [f"{base}_{i}" for i in range(s)]
            inits += [f"    {n} = 0.0" for n in names if n not in written]
            rets.append(f"[{', '.join(names)}]")
    return "\n".join([lines[0]] + head + inits + body + [f"    return ({', '.join(rets)},)"]) + "\n"


def lean_grad(prog):
    ns = dict(MATH_NS, sigmoid=fast_sigmoid)
    exec(compile(lean_source(prog), "<derive lean>", "exec"), ns)  # derive's generated code, rewritten
    return ns["_derive_run"]
