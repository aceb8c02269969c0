"""SymPy expression -> derive graph, undoing SymPy's normal form so lines read as written.

SymPy stores ``x - y`` as ``x + (-1)*y`` and ``a/b`` as ``a * b**(-1)``; here sums with
negative terms become binary ``-``, factors with negative powers become ``/``, ``b**(1/2)``
becomes ``sqrt``. The walk is iterative, with shared subtrees converted once.
"""
from __future__ import annotations

import sympy as sp

from derive.core.errors import DeriveError
from derive.core.rules import RULES, SYMPY_TYPES as _BY_TYPE


def _kids(e):
    if e.is_Atom:
        return []
    if isinstance(e, sp.Pow) and e.exp.is_Number:
        return [e.base]
    return list(e.args)


def sympy_to_graph(expr, g, inputs=None):
    if not isinstance(expr, sp.Basic):
        raise DeriveError(f"expected a SymPy expression, got {type(expr).__name__}")
    if isinstance(expr, (sp.MatrixBase, sp.Tuple)) or not isinstance(expr, sp.Expr):
        raise DeriveError("expected a scalar SymPy expression")
    syms = inputs if inputs is not None else sorted(expr.free_symbols, key=lambda s: s.name)
    for s in syms:
        g.input(s.name)
    done = {}
    _walk(expr, g, done)
    g.output = done[expr]
    return g


def _convert(e, g, done):
    if isinstance(e, sp.Symbol):
        return g.input(e.name)
    if e.is_number and not e.free_symbols and not isinstance(e, sp.Function):
        if e.is_Number or e.is_NumberSymbol or e.is_Atom:
            return g.const(e)
    if isinstance(e, sp.Add):
        return _sum(e, g, done)
    if isinstance(e, sp.Mul):
        return _product(e, g, done)
    if isinstance(e, sp.Pow):
        return _power(done[e.base], e.exp, g, done)
    name = _BY_TYPE.get(type(e))
    if name is None:
        raise DeriveError(f"SymPy {type(e).__name__} is not a derive primitive; "
                          f"known: {', '.join(r for r in RULES if not RULES[r].infix)}")
    args = [done[a] for a in e.args]
    if name in ("max", "min") and len(args) > 2:
        out = args[0]
        for a in args[1:]:
            out = g.op(name, out, a)
        return out
    return g.op(name, *args)


def _sum(e, g, done):
    terms = list(e.args)
    pos = [t for t in terms if not t.could_extract_minus_sign()]
    neg = [t for t in terms if t.could_extract_minus_sign()]
    order = pos + neg
    if not pos:  # -a - b: negate the first, subtract the rest
        acc = g.op("neg", _node(-order[0], g, done))
        rest = order[1:]
    else:
        acc = done[order[0]]
        rest = order[1:]
    for t in rest:
        if t.could_extract_minus_sign():
            acc = g.op("sub", acc, _node(-t, g, done))
        else:
            acc = g.op("add", acc, done[t])
    return acc


def _node(e, g, done):
    """Node of an expression that may not have been visited yet (e.g. -t for a term t)."""
    return done[e] if e in done else _walk(e, g, done)


def _walk(e, g, done):
    """Convert ``e`` post-order with an explicit stack, sharing converted subtrees via ``done``."""
    stack = [(e, False)]
    while stack:
        x, visited = stack.pop()
        if x in done:
            continue
        kids = _kids(x)
        if not visited and kids:
            stack.append((x, True))
            stack.extend((k, False) for k in reversed(kids) if k not in done)
            continue
        done[x] = _convert(x, g, done)
    return done[e]


def _product(e, g, done):
    coeff, factors = e.as_coeff_mul()
    num, den = [], []
    for f in factors:
        if isinstance(f, sp.Pow) and f.exp.is_Number and f.exp < 0:
            den.append(_node(f.base ** (-f.exp), g, done))
        else:
            num.append(done[f])
    negate = coeff < 0
    coeff = abs(coeff)
    if coeff != 1 and coeff.is_Rational and coeff.p == 1:   # (1/2)*x -> x/2
        den.insert(0, g.const(coeff.q))
    elif coeff != 1:
        num.insert(0, g.const(coeff))
    out = _chain(num, g) if num else None
    if den:
        d = _chain(den, g)
        out = g.op("div", out if out is not None else g.const(sp.Integer(1)), d)
    if out is None:
        out = g.const(sp.Integer(1))
    return g.op("neg", out) if negate else out


def _chain(nodes, g):
    out = nodes[0]
    for n in nodes[1:]:
        out = g.op("mul", out, n)
    return out


def _power(base, exp, g, done):
    if exp == -1:
        return g.op("div", g.const(sp.Integer(1)), base)
    if exp == sp.Rational(1, 2):
        return g.op("sqrt", base)
    if exp == sp.Rational(-1, 2):
        return g.op("div", g.const(sp.Integer(1)), g.op("sqrt", base))
    if exp.is_Number and exp < 0:
        return g.op("div", g.const(sp.Integer(1)), g.op("pow", base, g.const(-exp)))
    if exp.is_Number:
        return g.op("pow", base, g.const(exp))
    return g.op("pow", base, done[exp])
