"""SymPy classes for derive's own gates (sigmoid, relu, softplus, max, min) and for run-time rows.

SymPy has no sigmoid or relu; these classes keep expressions small (``sigmoid(x)``, not
``1/(1 + exp(-x))``), differentiate with the conventions of ``derive.rules`` and evaluate to
numbers when their arguments are numbers. ``gate_function`` makes such a class from a
formula, for gates registered at run time (``derive.rules.register``).
"""
from __future__ import annotations

import sympy as sp

A, B, Y = sp.symbols("A B Y")


class sigmoid(sp.Function):
    """The logistic function 1/(1 + exp(-x)) as one SymPy function (so expressions stay small)."""

    nargs = 1

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return 1 / (1 + sp.exp(-x))

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    def _eval_is_real(self):
        return self.args[0].is_real


class relu(sp.Function):
    """max(x, 0); its derivative is Heaviside(x, 0): relu'(0) = 0."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0], 0)

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return sp.Max(x, 0)

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sp.Max(x, 0)


class softplus(sp.Function):
    """log(1 + exp(x)), the smooth relu; its derivative is the sigmoid."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return sp.log(1 + sp.exp(x))

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sp.log(1 + sp.exp(x))

    def _eval_is_real(self):
        return self.args[0].is_real


class _Extremum(sp.Function):
    """max or min of two arguments kept as written (SymPy's Max/Min reorder and merge them)."""

    nargs = 2
    _pick = None  # sp.Max or sp.Min: used for numbers, and sets the gradient's direction

    def fdiff(self, argindex=1):
        a, b = self.args if (self._pick is sp.Max) == (argindex == 1) else self.args[::-1]
        return sp.Heaviside(a - b)

    @classmethod
    def eval(cls, a, b):
        if a.is_Number and b.is_Number:
            return cls._pick(a, b)


class maximum(_Extremum):
    """max(a, b) kept as written (SymPy's Max reorders and merges its arguments)."""

    _pick = sp.Max


class minimum(_Extremum):
    """min(a, b) kept as written."""

    _pick = sp.Min


def gate_function(name: str, formula: sp.Expr, grads: tuple) -> type:
    """A SymPy function class ``name`` for a gate given by ``formula`` in A (and B).

    It differentiates by ``grads`` (in A, B and the output Y), evaluates to ``formula`` at
    numbers and rewrites to it (``expr.rewrite("formula")``)."""
    arity = len(grads)

    def put(expr, args, out=None):
        subs = dict(zip((A, B), args))
        if out is not None:
            subs[Y] = out
        return expr.xreplace(subs)

    def fdiff(self, argindex=1):
        return put(grads[argindex - 1], self.args, self)

    def eval(cls, *args):
        if all(a.is_Number for a in args):
            return put(formula, args)

    def rewrite(self, *args, **kwargs):
        return put(formula, args)

    return type(name, (sp.Function,), {
        "nargs": arity, "fdiff": fdiff, "eval": classmethod(eval),
        "_eval_rewrite_as_formula": rewrite, "__doc__": f"The gate {name} = {formula}."})
