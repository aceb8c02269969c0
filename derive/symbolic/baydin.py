"""Baydin et al. (2018), Table 1, reproduced by SymPy: the logistic map and its derivative's swell.

"Automatic differentiation in machine learning: a survey" shows l_{n+1} = 4 l_n (1 - l_n),
l_1 = x, for n = 1..4: l_n in factored form, d l_n / dx as the product rule gives it (one
term per factor; a factor's inner derivative becomes part of the coefficient when it is a
constant, and stays a factor otherwise), and the simplified derivative. Everything here is
computed (factor_list, diff, expand); only the typesetting follows the paper: factors by
degree, polynomials in ascending powers, terms with a non-constant inner derivative first,
the content pulled out of a simplified polynomial with more than two terms.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

X = sp.Symbol("x")


@dataclass
class Row:
    n: int
    l: str                  # l_n, factored, in the paper's notation
    derivative: str         # d l_n / dx as differentiated (product rule)
    simplified: str         # d l_n / dx simplified
    l_expr: sp.Expr
    terms: list             # the derivative's terms as SymPy products (their sum is the derivative)
    simplified_expr: sp.Expr


def logistic(n: int) -> sp.Expr:
    """l_n as SymPy builds it: l_1 = x, l_{k+1} = 4 l_k (1 - l_k)."""
    l = X
    for _ in range(n - 1):
        l = 4 * l * (1 - l)
    return l


def factored(expr):
    """(coefficient, [(factor, multiplicity)]): factors with a positive constant term (1 - x,
    not x - 1), the monomial x first, then by degree (stable)."""
    coeff, facs = sp.factor_list(sp.expand(expr), X)
    out = []
    for f, m in facs:
        c0 = f.subs(X, 0)
        if c0 < 0 or (c0 == 0 and sp.Poly(f, X).LC() < 0):
            f, coeff = sp.expand(-f), coeff * (-1) ** m
        out.append((f, m))
    out.sort(key=lambda fm: (fm[0] != X, sp.degree(fm[0], X)))
    return coeff, out


def product_rule(coeff, factors):
    """Terms (coefficient, [(factor, multiplicity)]) of d/dx coeff * prod f_i^m_i."""
    kept, folded = [], []
    for i, (f, m) in enumerate(factors):
        inner = sp.expand(sp.diff(f, X))
        c = coeff * m
        rest = [(g, k) for j, (g, k) in enumerate(factors) if j != i]
        if m > 1:
            rest.insert(i, (f, m - 1))
        if inner.is_Number:
            folded.append((c * inner, rest))
        else:
            rest.append((inner, 1))
            kept.append((c, rest))
    terms = kept + folded
    # factors ordered by total degree (degree * multiplicity), stable: x first
    return [(c, sorted(fs, key=lambda fm: (fm[0] != X, sp.degree(fm[0], X) * fm[1]))) for c, fs in terms]


def poly_text(p) -> str:
    """A polynomial in ascending powers: 1 - 8x + 8x^2."""
    out = ""
    for (k,), c in sorted(sp.Poly(p, X).terms()):
        mono = "" if k == 0 else ("x" if k == 1 else f"x^{k}")
        mag = abs(c)
        body = (str(mag) if mag != 1 or not mono else "") + mono
        if not out:
            out = ("-" if c < 0 else "") + body
        else:
            out += (" - " if c < 0 else " + ") + body
    return out or "0"


def _factor_text(f, m):
    s = poly_text(f)
    if len(sp.Poly(f, X).terms()) > 1:
        s = f"({s})"
    return s + (f"^{m}" if m > 1 else "")


def product_text(coeff, factors) -> str:
    body = "".join(_factor_text(f, m) for f, m in factors)
    if not body:
        return str(coeff)
    return ("-" if coeff == -1 else "" if coeff == 1 else str(coeff)) + body


def sum_text(terms) -> str:
    out = ""
    for c, fs in terms:
        t = product_text(abs(c), fs)
        out = (("-" if c < 0 else "") + t) if not out else out + (" - " if c < 0 else " + ") + t
    return out


def simplified_text(p) -> str:
    poly = sp.Poly(sp.expand(p), X)
    content, prim = poly.primitive()
    if len(poly.terms()) > 2 and content != 1:
        return f"{content}({poly_text(prim.as_expr())})"
    return poly_text(poly.as_expr())


def _mul(c, fs):
    return sp.Mul(c, *[f ** m for f, m in fs])


def table(n_max: int = 4) -> list:
    """Rows n = 1..n_max of Baydin et al.'s Table 1, computed."""
    rows = []
    for n in range(1, n_max + 1):
        l = logistic(n)
        coeff, facs = factored(l)
        terms = product_rule(coeff, facs)
        simple = sp.expand(sp.diff(l, X))
        rows.append(Row(n, product_text(coeff, facs), sum_text(terms), simplified_text(simple),
                        _mul(coeff, facs), [_mul(c, fs) for c, fs in terms], simple))
    return rows


def table_text(n_max: int = 4) -> str:
    """The table as plain text, one row per n."""
    rows = table(n_max)
    head = ("n", "l_n", "d l_n / dx", "d l_n / dx (simplified)")
    cells = [head] + [(str(r.n), r.l, r.derivative, r.simplified) for r in rows]
    return "\n".join(" | ".join(c) for c in cells)
