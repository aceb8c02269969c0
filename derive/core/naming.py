"""Every generated name in one place: intermediates, adjoints, and their LaTeX forms.

Intermediates get readable CS231n-style names built from their gate and arguments
(``sigy``, ``xpy``, ``xpysqr``, ``invden``); the two sides of a division are ``num`` and
``den``; the output is ``f``. A name that would be long, clash, or not be an identifier
falls back to ``t1``, ``t2``, ... The user's own names (Python function input) are kept,
with ``_1``, ``_2`` added where a name is rebound (static single assignment).
"""
from __future__ import annotations

import keyword
import re

import sympy as sp

from derive.core.numerics import ARRAY_NS, MATH_NS
from derive.core.rules import ARRAY_RULES, RULES, derived

MAX_LEN = 8
OUTPUT = "f"
#: Names a generated variable must not take: keywords and every name printed code calls.
_RESERVED = derived(lambda: set(keyword.kwlist) | {"math", "np", "numpy", "mpmath", "derive", "None", "True",
                                                   "False"} | set(MATH_NS) | set(ARRAY_NS))
_INFIX = {"add": "{0}p{1}", "sub": "{0}m{1}", "mul": "{0}{1}", "div": "{0}d{1}"}


def symbol(name: str) -> sp.Symbol:
    """The SymPy symbol of a program variable (real, so |x|' = sign(x) in sympy.diff)."""
    return sp.Symbol(name, real=True)


def _token(node, names):
    """Short spelling of an argument inside a generated name, or None."""
    if node.is_const:
        v = node.value
        return str(v) if v.is_Integer and 0 <= v < 100 else None
    name = names.get(node)
    return None if name is None else re.sub(r"\W", "", name)


def _readable(node, names):
    toks = [_token(a, names) for a in node.args]
    if any(t is None for t in toks):
        return None
    op = node.op
    if op == "div" and node.args[0].is_const and node.args[0].value == 1:
        cand = "inv" + toks[1]
    elif op == "pow" and node.args[1].is_const and node.args[1].value == 2:
        cand = toks[0] + "sqr"
    elif op == "pow":
        cand = toks[0] + "pow" + toks[1]
    elif op in _INFIX:
        cand = _INFIX[op].format(*toks)
    elif op in ARRAY_RULES:  # array gates name themselves by their row's pattern ("{0}{1}")
        cand = ARRAY_RULES[op].short.format(*toks)
    else:
        cand = (RULES[op].short or op) + "".join(toks)
    return cand if cand.isidentifier() and len(cand) <= MAX_LEN else None


def assign_names(nodes, output, taken):
    """Names for the gate nodes (in creation order): {node: name}. ``taken`` holds input names."""
    used = set(taken) | _RESERVED
    names = {}
    for n in nodes:
        if n.is_input:
            names[n] = str(n.value)
    roles = {}
    for n in nodes:
        if n.op == "div" and not n.args[0].is_const:
            for arg, role in zip(n.args, ("num", "den")):
                if not arg.is_input and not arg.is_const and arg.user_name is None:
                    roles.setdefault(arg, role)
    counter = 0
    suffix: dict = {}  # base -> last _k tried (a name rebound n times costs n, not n**2)

    def fresh(base):
        nonlocal counter
        if base and base not in used:
            return base
        if base and re.fullmatch(r"[A-Za-z_]\w*", base):
            k = suffix.get(base, 0) + 1
            while f"{base}_{k}" in used:
                k += 1
            suffix[base] = k
            return f"{base}_{k}"
        while True:
            counter += 1
            if f"t{counter}" not in used:
                return f"t{counter}"

    for n in nodes:
        if n.is_input or n.is_const:
            continue
        if n.user_name:
            name = fresh(n.user_name)
        elif n is output:
            name = fresh(OUTPUT if OUTPUT not in used else "out")
        elif n in roles and roles[n] not in used:
            name = roles[n]
        else:
            cand = _readable(n, names)
            name = fresh(cand) if cand and cand not in used else fresh(None)
        used.add(name)
        names[n] = name
    return names


def adjoint_name(name: str, taken: set) -> str:
    """The gradient variable of ``name``: ``dx`` for x, ``dw[0]`` for w[0]; ``d_x`` when the
    function has its own ``dx``."""
    m = re.fullmatch(r"(\w+)\[(\d+)\]", name)
    if m:
        return f"{adjoint_name(m.group(1), taken)}[{m.group(2)}]"
    cand = "d" + name
    if cand not in taken:
        return cand
    # the learner's own names hold dx (or a parameter is called dout): d_x, not ddx or dddout
    base = cand = "d_" + name
    k = 1
    while cand in taken:
        k += 1
        cand = f"{base}_{k}"
    return cand


def latex_name(name: str) -> str:
    """LaTeX for a variable name: x -> x, sigy -> \\mathit{sigy}, x_1 -> x_{1}, w[0] -> w_{0}."""
    m = re.fullmatch(r"(\w+?)(?:_(\d+)|\[(\d+)\])", name)
    if m:
        return f"{latex_name(m.group(1))}_{{{m.group(2) or m.group(3)}}}"
    base = name.replace("_", r"\_")
    return base if len(name) == 1 else rf"\mathit{{{base}}}"


def latex_adjoint(name: str) -> str:
    """LaTeX of the adjoint of ``name``: the partial of the output with respect to it."""
    return rf"\frac{{\partial f}}{{\partial {latex_name(name)}}}"
