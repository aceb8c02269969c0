"""Optimisation passes over an array program's lines: the compiled speed path (value and gradient).

``gradient_function(prog)`` compiles ``(*params[, upstream]) -> (*gradients)`` (in
``prog.grads`` order; ``value=True``: ``(value, *gradients)``) from the program's own lines after these passes, each one function over
the lines, as tangent and compilers do. The printed listings never go through them: the lines
a learner reads stay the staged derivation step by step; ``prog.run`` (every value and adjoint)
does not either.

1. ``fused``: the fused softmax/cross-entropy gate keeps its probabilities for its backward
   line (its row's ``fast`` templates) instead of computing the softmax again.
2. ``zero_adjoints``: a value only subtracted to shift a softmax (``x - np.max(x, ...)``) has a
   gradient that is identically zero (the output does not depend on it): its lines go.
3. ``dead``: only the lines the value and the gradients need (the function's own ``dx`` lines,
   adjoints of inputs outside ``wrt=``).
4. ``unique_scatter``: ``np.add.at(d, (rows, y), g)`` with ``rows = np.arange(n)`` (no index
   pair repeats) becomes ``d[rows, y] += g``.
5. ``broadcasts``: ``g * np.ones_like(v)`` used once, where broadcasting gives the same result.
6. ``fold_sums``: factors constant along the summed axes leave a broadcast sum
   (``np.sum(-num/den**2 * dx_hat, axis=0)`` -> ``-(np.sum(num * dx_hat, axis=0) / den**2)``).
7. ``centred``: ``x - np.mean(x, axis=0, keepdims=True)`` in a backward line is the forward
   value that already holds it.
8. ``forks``: ``dx = a.copy(); dx += b; dx += c`` -> ``dx = a + b + c``.
9. ``aliases``: ``dt2 = dout`` (a second name for a value that never changes): uses read ``dout``.
10. ``methods``: ``np.sum(a, axis=0)`` on an array is ``a.sum(axis=0)`` (no dispatch).
11. ``release``: ``del`` each value after its last use, so that a large array's memory is
   reused while it is still in the cache (a function keeps its locals until it returns).
Every rewrite is checked on the shapes (each expression evaluated once on zeros of the inputs'
shapes); one that would change a shape is not made.
"""
from __future__ import annotations

import ast
from dataclasses import replace

import numpy as np

from derive.core.numerics import ARRAY_NS
from derive.core.rules import ARRAY_RULES
from derive.staging import codegen
from derive.staging.statements import (aliases, broadcasts, dead, fold_sums, forks, methods, names_in,
                                       reciprocals, release, uncopied, unique_scatter, written_by, zeros_env)

_FILE = "<derive speed path>"
BIG = 4096  # elements (32 KiB of float64): arrays worth releasing after their last use


def gradient_function(prog, value=False):
    """The speed path compiled once per specialised program (see the module docstring):
    ``(*params[, upstream]) -> (*gradients)``, or ``(value, *gradients)`` with ``value``."""
    key = ("speed", bool(value))
    if key not in prog._compiled:
        src = speed_source(prog, value)
        ns = dict(ARRAY_NS)
        exec(compile(src, _FILE, "exec"), ns)  # derive's own generated code, never user text
        prog._compiled[key] = ns["_derive_grad"]
    return prog._compiled[key]


def speed_source(prog, value=True) -> str:
    """The source of ``_derive_grad``: the program's lines after every pass (returning the
    gradients in ``prog.grads`` order, after the value with ``value``)."""
    forward, backward = list(prog.forward), list(prog.backward)
    lines = all(hasattr(ln, "op") for ln in forward) and all(hasattr(bl, "var") for bl in backward)
    if lines:  # one gate per line (blocks of other kinds, such as loops, are printed as they are)
        backward = zero_adjoints(prog, forward, backward)
        fwd_text, back_text = fused(prog, forward, backward)
    else:
        fwd_text, back_text = [str(ln) for ln in forward], [str(bl) for bl in backward]
    inits = [f"{a} = np.zeros_like({p}, dtype=float)" for p, a in prog.grads.items()
             if a not in {getattr(bl, "target", None) for bl in backward}]
    stmts = [s for text in fwd_text + inits + back_text for s in ast.parse(text).body]
    keep = [prog.output.name] * bool(value) + [a.name for a in prog.grads.values()]
    stmts = dead(stmts, keep)
    env = None
    simple = lines and all(isinstance(s, (ast.Assign, ast.AugAssign, ast.Expr)) for s in stmts)
    if simple and not any(n < 0 for shape in prog.shapes.values() for n in shape):  # sizes known
        env = zeros_env(prog, stmts)
    if env is not None:
        aranges = {ln.target.name for ln in forward if ln.op == "arange"}
        stmts = unique_scatter(stmts, aranges, env)
        stmts = reciprocals(stmts)
        stmts = broadcasts(stmts, env)
        stmts = fold_sums(stmts, env)
        stmts = centred(stmts, forward, env)
        stmts = forks(stmts, env)
        stmts = methods(dead(aliases(uncopied(stmts), keep), keep), env)
    params = prog.param_names + ([prog.upstream.name] if prog.upstream is not None else [])
    big = None if env is None else {n for n, v in env.items() if isinstance(v, np.ndarray) and v.size >= BIG}
    body = [ast.unparse(s) for s in release(stmts, set(keep) | set(params), big)]
    return codegen.function_source("_derive_grad", params, body, f"({', '.join(keep)},)")[0]


# ---- line passes (before printing) -----------------------------------------------------------
def zero_adjoints(prog, forward, backward):
    """Drop the backward lines of values whose gradient is identically zero (module doc, 2)."""
    for m in _shift_values(prog, forward):
        dm = prog.adjoints[m]
        kept, dropped = [], set()
        for bl in backward:
            up = bl.vjp.upstream if bl.vjp is not None else bl.upstream
            if bl.var == m or up == dm:
                dropped.add(bl.target)
                if not bl.accumulate and bl.var != m:
                    dropped.add(("first", bl.target))
                continue
            kept.append(bl)
        fixed = _refirst(kept, {t[1] for t in dropped if isinstance(t, tuple)})
        if fixed is not None and not any(dm.name in names_in(ast.parse(str(bl))) for bl in fixed):
            backward = fixed
    return backward


def _refirst(lines, targets):
    """Where a dropped line wrote ``target`` first, the next line writing it becomes the first
    (None when that next line adds into it in place: a scatter needs its zeros); a copy when
    it names another array that later lines would add into."""
    out = []
    for k, bl in enumerate(lines):
        if bl.target in targets:
            if bl.vjp is not None and bl.vjp.scatter:
                return None
            bl = replace(bl, accumulate=False, copy=False)
            rhs = str(bl).split(" = ", 1)[-1]
            if any(b.target == bl.target for b in lines[k + 1:]) and (rhs.isidentifier() or rhs.endswith(".T")):
                bl = replace(bl, copy=True)
            targets = targets - {bl.target}
        out.append(bl)
    return out


def _shift_values(prog, forward):
    """Values ``m`` used once, in ``s = a - m`` broadcast along some axes, on which the output
    does not depend: every path from ``s`` to the output is invariant to adding a constant
    along those axes (``x - max`` in a stable softmax, log-softmax, softmax/cross-entropy)."""
    live = [ln for ln in forward if ln.used]
    uses = {}
    for ln in live:
        for a in ln.args:
            uses.setdefault(a, []).append(ln)
    out = []
    for ln in live:
        if ln.op != "sub" or len(ln.args) != 2 or ln.args[0] == ln.args[1]:
            continue
        m = ln.args[1]
        if m not in prog.adjoints or len(uses.get(m, [])) != 1 or m == prog.output:
            continue
        sm, ss = prog.shapes.get(getattr(m, "name", None)), ln.shape
        if sm is None or ss is None or len(sm) != len(ss):
            continue
        axes = {i for i, (p, q) in enumerate(zip(sm, ss)) if p == 1 and q != 1}
        if axes and _invariant(prog, live, ln, axes):
            out.append(m)
    return out


def _axes(call, ndim):
    ax = call.axis if isinstance(call.axis, tuple) else (call.axis,)
    return None if call.axis is None else {a % ndim for a in ax}


def _invariant(prog, live, start, axes):
    """Tags: "off" (the shift c added), "scl" (multiplied by exp(c)), "inv" (unchanged)."""
    tag, ndim = {start.target: "off"}, len(start.shape)
    for ln in live[live.index(start) + 1:]:
        t = [tag.get(a, "inv") for a in ln.args]
        if all(x == "inv" for x in t):
            continue
        call = ln.rhs if ln.op in ARRAY_RULES else None
        reduced = call is not None and call.keepdims and _axes(call, ndim) and _axes(call, ndim) <= axes
        got = {("exp", ("off",)): "scl", ("log", ("scl",)): "off",
               ("sub", ("off", "off")): "inv", ("sub", ("off", "inv")): "off",
               ("add", ("off", "inv")): "off", ("add", ("inv", "off")): "off",
               ("mul", ("scl", "inv")): "scl", ("mul", ("inv", "scl")): "scl",
               ("div", ("scl", "scl")): "inv", ("div", ("scl", "inv")): "scl",
               ("sum", ("scl",)): "scl" if reduced else None,
               ("amax", ("off",)): "off" if reduced else None,
               ("amax", ("scl",)): "scl" if reduced else None}.get((ln.op, tuple(t)))
        if ln.op == "softmax_cross_entropy" and t == ["off", "inv"] and axes == {ndim - 1}:
            got = "inv"
        if got is None or got != "inv" and len(ln.shape) != ndim:
            return False
        tag[ln.target] = got
    return tag.get(prog.output, "inv") == "inv"


def fused(prog, forward, backward):
    """Printed forward and backward statements, the fused gates' lines by their rows' ``fast``
    templates (probabilities kept from the forward line for the backward one)."""
    taken = set(prog.shapes) | {a.name for a in prog.adjoints.values()}
    fwd, back, kept = [], [], {}
    for ln in forward:
        rule = ARRAY_RULES.get(ln.op)
        fast = {nd: (f, b) for nd, f, b in rule.fast}.get(len(prog.shapes[ln.args[0].name])) \
            if rule is not None and rule.fast else None
        if fast is None or not ln.used:
            fwd.append(str(ln))
            continue
        names = {"y": ln.target.name, "t": _fresh(f"_{ln.target.name}", taken)}
        kept[ln.target] = (fast, names)
        fwd += [t.format(*[str(a) for a in ln.args], **names) for t in fast[0]]
    for bl in backward:
        hit = kept.get(bl.vjp.out) if bl.vjp is not None and bl.vjp.index == 0 else None
        if hit is None or bl.reduce is not None:
            back.append(str(bl))
            continue
        (fast, names), d = hit, bl.target.name
        into = _fresh(f"_{d}", taken) if bl.accumulate else d
        args = [str(a) for a in bl.vjp.args]
        back += [t.format(*args, d=into, **names) for t in fast[1]]
        if bl.vjp.upstream is not None:
            back.append(f"{into} *= {bl.vjp.upstream}")
        if bl.accumulate:
            back.append(f"{d} += {into}")
    return fwd, back


def _fresh(base, taken):
    name, k = base, 1
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def centred(stmts, forward, env):
    """``x - np.mean(x, axis=a, keepdims=True)`` -> the forward value ``c = x - m`` with
    ``m = np.mean(x, axis=a)`` that holds it (kept dims, or the leading axis)."""
    defs = {ln.target: ln for ln in forward}
    defined = {written_by(s)[0] for s in stmts}
    same = {}
    for ln in forward:
        m = defs.get(ln.args[1]) if ln.op == "sub" and len(ln.args) == 2 else None
        if m is None or m.op != "mean" or m.args[0] != ln.args[0] or not isinstance(m.rhs.axis, int):
            continue
        if (m.rhs.keepdims or m.rhs.axis == 0) and ln.target.name in defined:
            x = ln.args[0].name
            text = f"({x} - np.mean({x}, axis={m.rhs.axis}, keepdims=True))"
            same[ast.dump(ast.parse(text, mode="eval").body)] = ln.target.name
    if not same:
        return stmts

    class Sub(ast.NodeTransformer):
        def visit_BinOp(self, n):
            hit = same.get(ast.dump(n))
            return ast.Name(hit, ast.Load()) if hit else self.generic_visit(n)
    written = {ln.target.name for ln in forward}
    out = []
    for s in stmts:
        name, _ = written_by(s)
        out.append(s if name in written else ast.fix_missing_locations(Sub().visit(s)))
    return out
