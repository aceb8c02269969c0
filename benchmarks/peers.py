"""The gradient functions being compared, each built from the same staged program.

A peer is a callable ``grad(*params) -> gradient`` plus how it was made. Parameters are
passed the way each tool takes them: derive, the tapes and JAX take the function's own
parameters (lists for list inputs); ``lambdify`` takes one flat argument per scalar input.
The runtime tapes (autograd, micrograd-style, JAX) run the program's own forward lines, as
printed by derive, with their function namespace: the same forward code a student writes.
The symbolic peers start from the function as one plain SymPy expression (sigmoid written
as 1/(1 + exp(-x)), as a SymPy user would), differentiated by ``sympy.diff``.
"""
from __future__ import annotations

import importlib
import math

import numpy as np
import sympy as sp

from benchmarks import micrograd
from derive.printing.printers import CodePrinter
from derive.core.rules import sigmoid

def optional(name):
    """The module if it is installed, else None (an absent optional peer is skipped, not failed)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def forward_source(prog, fname="f") -> str:
    """The program's forward pass as a Python function returning the output."""
    p = CodePrinter()
    args = ", ".join(n for n, _ in prog.params)
    body = [f"    {p._print(ln)}" for ln in prog.forward if ln.used]
    return "\n".join([f"def {fname}({args}):"] + body + [f"    return {prog.output}"]) + "\n"


def forward_function(prog, namespace):
    ns = dict(namespace)
    exec(compile(forward_source(prog), "<benchmark forward>", "exec"), ns)  # derive's printed code
    return ns["f"]


def flat_point(prog, point):
    """{param: number or list} -> flat floats in ``prog.inputs`` order (lambdify's arguments)."""
    out = []
    for name, size in prog.params:
        out.extend(point[name] if size is not None else [point[name]])
    return [float(v) for v in out]


# ---- derive ------------------------------------------------------------------------------
def derive_grad(prog):
    """derive's compiled gradient (``prog.gradient_function("math")``): gradients only."""
    return prog.gradient_function("math")


# ---- symbolic ----------------------------------------------------------------------------
def plain_expr(prog) -> sp.Expr:
    """The function as one SymPy expression without derive's classes (sigmoid -> exp form)."""
    return prog.expr().replace(sigmoid, lambda a: 1 / (1 + sp.exp(-a)))


def sympy_gradient(expr, inputs) -> list:
    return [sp.diff(expr, s) for s in inputs]


def lambdify_grad(inputs, grads, cse=False):
    return sp.lambdify(list(inputs), grads, modules="math", cse=cse)


# ---- runtime tapes -----------------------------------------------------------------------
def _sig(exp):
    return lambda x: 1.0 / (1.0 + exp(-x))


def autograd_grad(prog):
    ag = optional("autograd")
    if ag is None:
        return None
    anp = importlib.import_module("autograd.numpy")
    ns = {"exp": anp.exp, "log": anp.log, "tanh": anp.tanh, "sin": anp.sin, "cos": anp.cos,
          "sqrt": anp.sqrt, "sigmoid": _sig(anp.exp), "relu": lambda x: anp.maximum(x, 0.0)}
    f = forward_function(prog, ns)
    return ag.grad(f, tuple(range(len(prog.params))))


def micrograd_grad(prog):
    return micrograd.grad(forward_function(prog, micrograd.NAMESPACE))


def jax_grad(prog):
    jax = optional("jax")
    if jax is None:
        return None
    jax.config.update("jax_enable_x64", True)
    jnp = importlib.import_module("jax.numpy")
    ns = {"exp": jnp.exp, "log": jnp.log, "tanh": jnp.tanh, "sin": jnp.sin, "cos": jnp.cos,
          "sqrt": jnp.sqrt, "sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu}
    f = forward_function(prog, ns)
    g = jax.jit(jax.grad(f, tuple(range(len(prog.params)))))

    def call(*args):
        return jax.block_until_ready(g(*args))
    return call


def close(a, b, tol=1e-6) -> bool:
    """Same gradient (flattened) up to a relative tolerance: every peer is checked before timing."""
    fa, fb = flatten(a), flatten(b)
    return len(fa) == len(fb) and all(math.isclose(x, y, rel_tol=tol, abs_tol=tol) for x, y in zip(fa, fb))


def flatten(g):
    """A gradient (numbers, lists, arrays, tuples of them) as one flat list of floats."""
    parts = g if isinstance(g, (list, tuple)) else [g]
    return [float(x) for v in parts for x in np.ravel(np.asarray(v, dtype=float))]
