"""Optimisation passes over an array program's lines: the compiled speed path (value and gradient).

``gradient_function(prog)`` compiles ``(*params[, upstream]) -> (value, *gradients)`` (in
``prog.grads`` order) from the program's own lines after these passes, each one function over
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

_FILE = "<derive speed path>"


def gradient_function(prog):
    """The speed path compiled once per specialised program (see the module docstring)."""
    if "speed" not in prog._compiled:
        src = speed_source(prog)
        ns = dict(ARRAY_NS)
        exec(compile(src, _FILE, "exec"), ns)  # derive's own generated code, never user text
        prog._compiled["speed"] = ns["_derive_grad"]
    return prog._compiled["speed"]


def speed_source(prog) -> str:
    """The source of ``_derive_grad``: the program's lines after every pass."""
    forward, backward = list(prog.forward), list(prog.backward)
    backward = zero_adjoints(prog, forward, backward)
    fwd_text, back_text = fused(prog, forward, backward)
    inits = [f"{a} = np.zeros_like({p}, dtype=float)" for p, a in prog.grads.items()
             if a not in {bl.target for bl in backward}]
    stmts = [s for text in fwd_text + inits + back_text for s in ast.parse(text).body]
    keep = [prog.output.name] + [a.name for a in prog.grads.values()]
    stmts = dead(stmts, keep)
    if not any(n < 0 for shape in prog.shapes.values() for n in shape):  # sizes known: shape checks
        env = _zeros_env(prog, stmts)
        aranges = {ln.target.name for ln in forward if ln.op == "arange"}
        stmts = unique_scatter(stmts, aranges, env)
        stmts = [_reciprocals(s) for s in stmts]
        stmts = broadcasts(stmts, env)
        stmts = fold_sums(stmts, env)
        stmts = centred(stmts, forward, env)
        stmts = forks(stmts, env)
        stmts = dead(uncopied(stmts), keep)
    params = prog.param_names + ([prog.upstream.name] if prog.upstream is not None else [])
    body = [ast.unparse(s) for s in stmts]
    return codegen.function_source("_derive_grad", params, body, f"({', '.join(keep)},)")[0]


# ---- statements ------------------------------------------------------------------------------
def _names(node) -> set:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _written(s):
    """(name, kind): kind "=" (a new value), "+=" (added to), "mut" (changed in place), or None."""
    if isinstance(s, ast.Assign) and len(s.targets) == 1:
        t = s.targets[0]
        if isinstance(t, ast.Name):
            return t.id, "="
        if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name):
            return t.value.id, "mut"
    if isinstance(s, ast.AugAssign):
        if isinstance(s.target, ast.Name):
            return s.target.id, "+=" if isinstance(s.op, ast.Add) else "mut"
        if isinstance(s.target, ast.Subscript) and isinstance(s.target.value, ast.Name):
            return s.target.value.id, "mut"
    if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and s.value.args and \
            isinstance(s.value.args[0], ast.Name) and ast.unparse(s.value.func) == "np.add.at":
        return s.value.args[0].id, "mut"
    return None, None


def _reads(s) -> set:
    name, kind = _written(s)
    if kind == "=":
        return _names(s.value)
    return _names(s)  # +=, in-place changes and anything else read their target too


def dead(stmts, keep):
    """Only the statements that the names in ``keep`` need (a reverse walk)."""
    need, out = set(keep), []
    for s in reversed(stmts):
        name, kind = _written(s)
        if name is None or name in need:
            out.append(s)
            if kind == "=":
                need.discard(name)
            need |= _reads(s)
    return out[::-1]


def _uses(stmts, name):
    return [i for i, s in enumerate(stmts) if name in _reads(s)]


def _writes_between(stmts, names, i, j):
    return any(_written(s)[0] in names for s in stmts[i + 1:j])


# ---- shapes ----------------------------------------------------------------------------------
def _zeros_env(prog, stmts):
    """Every name's value on zeros of the inputs' shapes (the statements run once)."""
    env = dict(ARRAY_NS)
    env.update({p: np.zeros(prog.shapes[p], dtype=int if p in prog.labels else float)
                for p in prog.param_names})
    if prog.upstream is not None:
        env[prog.upstream.name] = np.zeros(prog.shapes[prog.output.name])
    with np.errstate(all="ignore"):
        for s in stmts:
            exec(compile(ast.Module([s], []), _FILE, "exec"), env)  # derive's own lines
    return env


def _shape(node, env):
    """The shape of an expression evaluated on the zeros (None if it cannot be evaluated)."""
    try:
        with np.errstate(all="ignore"):
            return np.shape(eval(compile(ast.Expression(node), _FILE, "eval"), env))  # own lines
    except Exception:  # noqa: BLE001 (a rewrite that does not evaluate is not made)
        return None


def _fits(s, old, new, env):
    """Whether ``new`` may replace ``old`` (both the value of statement ``s``): same shape,
    or, where the statement broadcasts (``+=``, an indexed write), one that broadcasts to it."""
    a, b = _shape(old, env), _shape(new, env)
    if a is None or b is None:
        return False
    if a == b:
        return True
    _, kind = _written(s)
    try:
        return kind in ("+=", "mut") and np.broadcast_shapes(a, b) == a
    except ValueError:
        return False


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
        if fixed is not None and not any(dm.name in _names(ast.parse(str(bl))) for bl in fixed):
            backward = fixed
    return backward


def _refirst(lines, targets):
    """Where a dropped line wrote ``target`` first, the next line writing it becomes the first
    (None when that next line adds into it in place: a scatter needs its zeros)."""
    out = []
    for bl in lines:
        if bl.target in targets:
            if bl.vjp is not None and bl.vjp.scatter:
                return None
            bl = replace(bl, accumulate=False)
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


# ---- statement passes (after printing) -------------------------------------------------------
def unique_scatter(stmts, aranges, env):
    """``np.add.at(d, (rows, y), g)`` -> ``d[rows, y] += g`` when an index is an ``np.arange``
    as long as the index arrays (no pair of indices repeats)."""
    out = []
    for s in stmts:
        name, kind = _written(s)
        if kind == "mut" and isinstance(s, ast.Expr):
            d, index, g = s.value.args
            parts = index.elts if isinstance(index, ast.Tuple) else [index]
            shapes = [_shape(p, env) for p in parts]
            rows = [p for p in parts if isinstance(p, ast.Name) and p.id in aranges]
            if rows and all(sh is not None and sh == shapes[0] and len(sh) == 1 for sh in shapes):
                fresh = out and _written(out[-1]) == (name, "=") and \
                    ast.unparse(out[-1].value).startswith("np.zeros_like(")
                s = ast.Assign([ast.Subscript(d, index, ast.Store())], g) if fresh else \
                    ast.AugAssign(ast.Subscript(d, index, ast.Store()), ast.Add(), g)
        out.append(s)
    return [ast.fix_missing_locations(s) for s in out]


def _reciprocals(s):
    """``1 / a * b`` -> ``b / a`` (one pass over b instead of two)."""
    class Sub(ast.NodeTransformer):
        def visit_BinOp(self, n):
            self.generic_visit(n)
            left = n.left
            if isinstance(n.op, ast.Mult) and isinstance(left, ast.BinOp) and isinstance(left.op, ast.Div) \
                    and isinstance(left.left, ast.Constant) and left.left.value == 1:
                return ast.BinOp(n.right, ast.Div(), left.right)
            return n
    return ast.fix_missing_locations(Sub().visit(s))


def _is_ones_like(node):
    return isinstance(node, ast.Call) and ast.unparse(node.func) == "np.ones_like"


def _without_ones(node):
    """``g * np.ones_like(v)`` (either order) -> ``g``; anything else unchanged (None)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        if _is_ones_like(node.right):
            return node.left
        if _is_ones_like(node.left):
            return node.right
    return None


def broadcasts(stmts, env):
    """Inline ``t = g * np.ones_like(v)`` into its one use, then drop the ``np.ones_like``
    wherever broadcasting ``g`` gives the statement the same result."""
    stmts = list(stmts)
    for i, s in enumerate(stmts):
        name, kind = _written(s)
        if kind != "=" or _without_ones(s.value) is None:
            continue
        uses = _uses(stmts, name)
        if len(uses) == 1 and not _writes_between(stmts, _names(s.value) | {name}, i, uses[0]):
            j = uses[0]
            stmts[j] = _substitute(stmts[j], name, s.value)
            stmts[i] = ast.Pass()
    out = []
    for s in stmts:
        if isinstance(s, ast.Pass):
            continue
        for node in list(ast.walk(s)):
            for field, value in ast.iter_fields(node):
                small = _without_ones(value) if isinstance(value, ast.AST) else None
                if small is not None:
                    whole = getattr(s, "value", None)
                    new = _substitute_node(whole, value, small) if whole is not None else None
                    if new is not None and _fits(s, whole, new, env):
                        setattr(node, field, small)
        out.append(ast.fix_missing_locations(s))
    return out


def _substitute(s, name, expr):
    """Statement ``s`` with the name read as ``expr`` (a copy)."""
    class Sub(ast.NodeTransformer):
        def visit_Name(self, n):
            return expr if n.id == name and isinstance(n.ctx, ast.Load) else n
    return ast.fix_missing_locations(Sub().visit(_copy(s)))


def _substitute_node(whole, old, new):
    """A copy of ``whole`` with the node ``old`` (by identity) replaced by ``new``."""
    class Sub(ast.NodeTransformer):
        def visit(self, n):
            return new if n is old else super().visit(n)
    if whole is old:
        return new
    return ast.fix_missing_locations(Sub().visit(_copy_keep(whole, old)))


def _copy(node):
    return ast.parse(ast.unparse(node)).body[0] if isinstance(node, ast.stmt) else \
        ast.parse(ast.unparse(node), mode="eval").body


def _copy_keep(whole, old):
    """A shallow structural copy of ``whole`` that keeps ``old`` as the same object."""
    if whole is old or not isinstance(whole, ast.AST):
        return whole
    fields = {}
    for f, v in ast.iter_fields(whole):
        fields[f] = [_copy_keep(x, old) for x in v] if isinstance(v, list) else _copy_keep(v, old)
    return type(whole)(**fields)


def _factors(node, sign=1):
    """A product as (sign, [(factor, +1 or -1 for a divisor)])."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        s, f = _factors(node.operand)
        return -s * sign, f
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
        s1, f1 = _factors(node.left)
        s2, f2 = _factors(node.right)
        if isinstance(node.op, ast.Div):
            f2 = [(f, -e) for f, e in f2]
        return sign * s1 * s2, f1 + f2
    return sign, [(node, 1)]


def _sum_call(node):
    """(argument, summed axes, keepdims) of ``np.sum(a, axis=..., [keepdims=True])``, or None."""
    if not (isinstance(node, ast.Call) and ast.unparse(node.func) == "np.sum" and len(node.args) == 1):
        return None
    kw = {k.arg: k.value for k in node.keywords}
    if set(kw) - {"axis", "keepdims"} or "axis" not in kw:
        return None
    try:
        axis = ast.literal_eval(kw["axis"])
        keep = ast.literal_eval(kw["keepdims"]) if "keepdims" in kw else False
    except ValueError:
        return None
    return node.args[0], (axis if isinstance(axis, tuple) else (axis,)), bool(keep)


def fold_sums(stmts, env):
    """``t = <product>`` used once, in ``d = np.sum(t, axis=...)``: the factors constant along
    the summed axes multiply the sum instead of the big array (module doc, 6)."""
    stmts = list(stmts)
    for j, s in enumerate(stmts):
        name, kind = _written(s)
        call = _sum_call(s.value) if kind in ("=", "+=") else None
        if call is None or not isinstance(call[0], ast.Name):
            continue
        t = call[0].id
        defs = [i for i in range(j) if _written(stmts[i]) == (t, "=")]
        if not defs or _uses(stmts, t) != [j] or _writes_between(stmts, _names(stmts[defs[-1]].value) | {t},
                                                                     defs[-1], j):
            continue
        i = defs[-1]
        new = _folded(stmts[i].value, call[1], call[2], s.value, env)
        if new is not None:
            stmts[j] = ast.fix_missing_locations(type(s)(**{**dict(ast.iter_fields(s)), "value": new}))
            stmts[i] = ast.Pass()
    return [s for s in stmts if not isinstance(s, ast.Pass)]


def _folded(expr, axes, keep, old, env):
    shape = _shape(expr, env)
    if shape is None:
        return None
    nd = len(shape)
    axes = {a % nd for a in axes}
    if not keep and axes != set(range(len(axes))):  # only leading axes leave without keepdims
        return None
    sign, factors = _factors(expr)
    small, big = [], []
    for f, e in factors:
        fs = _shape(f, env)
        if fs is None:
            return None
        const = all(nd - a > len(fs) or fs[len(fs) - nd + a] == 1 for a in axes)
        (small if const and len(fs) <= nd - (0 if keep else len(axes)) else big).append((f, e))
    if not big or not small and sign == 1:
        return None
    inner = None
    for f, e in big:
        inner = f if inner is None and e == 1 else ast.BinOp(inner or ast.Constant(1.0),
                                                             ast.Mult() if e == 1 else ast.Div(), f)
    kw = [ast.keyword("axis", ast.Constant(tuple(sorted(axes)) if len(axes) > 1 else min(axes)))]
    kw += [ast.keyword("keepdims", ast.Constant(True))] * keep
    out = ast.Call(ast.parse("np.sum", mode="eval").body, [inner], kw)
    for f, e in small:
        out = ast.BinOp(out, ast.Mult() if e == 1 else ast.Div(), f)
    out = ast.fix_missing_locations(ast.UnaryOp(ast.USub(), out) if sign < 0 else out)
    return out if _shape(out, env) == _shape(old, env) else None


def centred(stmts, forward, env):
    """``x - np.mean(x, axis=a, keepdims=True)`` -> the forward value ``c = x - m`` with
    ``m = np.mean(x, axis=a)`` that holds it (kept dims, or the leading axis)."""
    defs = {ln.target: ln for ln in forward}
    same = {}
    for ln in forward:
        m = defs.get(ln.args[1]) if ln.op == "sub" and len(ln.args) == 2 else None
        if m is None or m.op != "mean" or m.args[0] != ln.args[0] or not isinstance(m.rhs.axis, int):
            continue
        if m.rhs.keepdims or m.rhs.axis == 0:
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
        name, _ = _written(s)
        out.append(s if name in written else ast.fix_missing_locations(Sub().visit(s)))
    return out


def forks(stmts, env):
    """``d = a.copy()`` (or any first value) then ``d += b`` ... -> one sum at the last write,
    when nothing reads ``d`` in between and the terms' names do not change meanwhile."""
    stmts = list(stmts)
    for i, s in enumerate(stmts):
        name, kind = _written(s)
        if kind != "=":
            continue
        writes = [k for k in range(i + 1, len(stmts)) if _written(stmts[k])[0] == name]
        adds = [k for k in writes if _written(stmts[k])[1] == "+="]
        if not adds or adds != writes or any(k not in adds and name in _reads(stmts[k])
                                             for k in range(i + 1, adds[-1])):
            continue
        terms = [_uncopied(s.value)] + [stmts[k].value for k in adds]
        spans = [i] + adds
        if any(_writes_between(stmts, _names(t), a, adds[-1]) for t, a in zip(terms, spans)):
            continue
        total = terms[0]
        for t in terms[1:]:
            total = ast.BinOp(total, ast.Add(), t)
        if _shape(total, env) != _shape(ast.Name(name, ast.Load()), env):
            continue
        stmts[adds[-1]] = ast.fix_missing_locations(ast.Assign([ast.Name(name, ast.Store())], total))
        for k in spans[:-1]:
            stmts[k] = ast.Pass()
    return [s for s in stmts if not isinstance(s, ast.Pass)]


def uncopied(stmts):
    """``a = b.copy()`` -> ``a = b`` when neither name is added to or changed in place after."""
    out = list(stmts)
    for i, s in enumerate(out):
        name, kind = _written(s)
        if kind != "=" or _uncopied(s.value) is s.value or not isinstance(_uncopied(s.value), ast.Name):
            continue
        src = _uncopied(s.value).id
        if not any(_written(t)[0] in (name, src) and _written(t)[1] != "=" for t in out[i + 1:]):
            out[i] = ast.fix_missing_locations(ast.Assign([ast.Name(name, ast.Store())], _uncopied(s.value)))
    return out


def _uncopied(node):
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "copy" \
            and not node.args:
        return node.func.value
    return node
