"""The speed path's passes over printed statements (Python ``ast``), and their shape checks.

``derive.staging.optimize`` prints a program's lines (after its own passes over the lines),
parses them, and runs these passes over the statements: dead statements, unique scatters,
``np.ones_like`` broadcasts, constant factors out of sums, forks, copies,
aliases, reductions as methods and ``del`` after the last use (the passes are described in ``optimize``'s docstring).
A rewrite is made only when the expression it gives has the shape of the one it replaces
(both evaluated once on zeros of the inputs' shapes: ``zeros_env``).
"""
from __future__ import annotations

import ast

import numpy as np

from derive.core.numerics import ARRAY_NS

_FILE = "<derive speed path>"


# ---- statements ------------------------------------------------------------------------------
def names_in(node) -> set:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def written_by(s):
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
    name, kind = written_by(s)
    if kind == "=":
        return names_in(s.value)
    return names_in(s)  # +=, in-place changes and anything else read their target too


def dead(stmts, keep):
    """Only the statements that the names in ``keep`` need (a reverse walk)."""
    need, out = set(keep), []
    for s in reversed(stmts):
        name, kind = written_by(s)
        if name is None or name in need:
            out.append(s)
            if kind == "=":
                need.discard(name)
            need |= _reads(s)
    return out[::-1]


def release(stmts, kept, big=None):
    """``del`` every name (of ``big``, when given) after the statement that reads or writes it
    last (module doc, 10)."""
    last = {}
    for i, s in enumerate(stmts):
        for n in _reads(s) | {written_by(s)[0]}:
            last[n] = i
    out = []
    for i, s in enumerate(stmts):
        out.append(s)
        gone = sorted(n for n, k in last.items() if k == i and n not in kept and n is not None
                      and n not in ARRAY_NS and (big is None or n in big))
        if gone:
            out.append(ast.Delete([ast.Name(n, ast.Del()) for n in gone]))
    return out


def _uses(stmts, name):
    return [i for i, s in enumerate(stmts) if name in _reads(s)]


def _writes_between(stmts, names, i, j):
    return any(written_by(s)[0] in names for s in stmts[i + 1:j])


# ---- shapes ----------------------------------------------------------------------------------
def zeros_env(prog, stmts):
    """Every name's value on zeros of the inputs' shapes (the statements run once), or None
    if they do not run on zeros (then no rewrite that needs shapes is made)."""
    env = dict(ARRAY_NS)
    env.update({p: np.zeros(prog.shapes[p], dtype=int if p in prog.labels else float)
                for p in prog.param_names})
    if prog.upstream is not None:
        env[prog.upstream.name] = np.zeros(prog.shapes[prog.output.name])
    try:
        with np.errstate(all="ignore"):
            for s in stmts:
                exec(compile(ast.Module([s], []), _FILE, "exec"), env)  # derive's own lines
    except Exception:  # noqa: BLE001 (the lines ran on zeros when shapes were checked; if not, no rewrites)
        return None
    return env


def _shape(node, env):
    """The shape of an expression evaluated on the zeros (None if it cannot be evaluated)."""
    value = _value(node, env)
    try:
        return None if value is None else np.shape(value)
    except ValueError:  # not one array (a ragged tuple): no rewrite
        return None


def _fits(s, old, new, env):
    """Whether ``new`` may replace ``old`` (both the value of statement ``s``): same shape,
    or, where the statement broadcasts (``+=``, an indexed write), one that broadcasts to it."""
    a, b = _shape(old, env), _shape(new, env)
    if a is None or b is None:
        return False
    if a == b:
        return True
    _, kind = written_by(s)
    try:
        return kind in ("+=", "mut") and np.broadcast_shapes(a, b) == a
    except ValueError:
        return False


# ---- statement passes (after printing) -------------------------------------------------------
def unique_scatter(stmts, aranges, env):
    """``np.add.at(d, (rows, y), g)`` -> ``d[rows, y] += g`` when an index is an ``np.arange``
    as long as the index arrays (no pair of indices repeats)."""
    out = []
    for s in stmts:
        name, kind = written_by(s)
        if kind == "mut" and isinstance(s, ast.Expr):
            d, index, g = s.value.args
            parts = index.elts if isinstance(index, ast.Tuple) else [index]
            if any(isinstance(p, ast.Slice) for p in parts):  # only index arrays are handled
                out.append(s)
                continue
            shapes = [_shape(p, env) for p in parts]
            rows = [p for p in parts if isinstance(p, ast.Name) and p.id in aranges]
            if rows and all(sh is not None and sh == shapes[0] and len(sh) == 1 for sh in shapes):
                fresh = out and written_by(out[-1]) == (name, "=") and \
                    ast.unparse(out[-1].value).startswith("np.zeros_like(")
                s = ast.Assign([ast.Subscript(d, index, ast.Store())], g) if fresh else \
                    ast.AugAssign(ast.Subscript(d, index, ast.Store()), ast.Add(), g)
        out.append(s)
    return [ast.fix_missing_locations(s) for s in out]


def _reciprocal(s):
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


def reciprocals(stmts):
    return [_reciprocal(s) for s in stmts]


_METHODS = {"np.sum": "sum", "np.max": "max", "np.min": "min", "np.mean": "mean"}


def methods(stmts, env):
    """``np.sum(a, axis=0)`` -> ``a.sum(axis=0)`` where ``a`` is an array (the same reduction,
    without the function's dispatch: a microsecond a call, which counts on small arrays)."""
    class Sub(ast.NodeTransformer):
        def visit_Call(self, n):
            self.generic_visit(n)
            name = _METHODS.get(ast.unparse(n.func))
            value = _value(n.args[0], env) if name and len(n.args) == 1 else None
            if isinstance(value, np.ndarray) and value.ndim:  # not a number (no .sum on a float)
                return ast.Call(ast.Attribute(n.args[0], name, ast.Load()), [], n.keywords)
            return n
    return [ast.fix_missing_locations(Sub().visit(s)) for s in stmts]


def _value(node, env):
    try:
        with np.errstate(all="ignore"):
            return eval(compile(ast.Expression(node), _FILE, "eval"), env)  # derive's own lines
    except Exception:  # noqa: BLE001 (no value: no rewrite)
        return None


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
        name, kind = written_by(s)
        if kind != "=" or _without_ones(s.value) is None:
            continue
        uses = _uses(stmts, name)
        if len(uses) == 1 and not _writes_between(stmts, names_in(s.value) | {name}, i, uses[0]):
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
        name, kind = written_by(s)
        call = _sum_call(s.value) if kind in ("=", "+=") else None
        if call is None or not isinstance(call[0], ast.Name):
            continue
        t = call[0].id
        defs = [i for i in range(j) if written_by(stmts[i]) == (t, "=")]
        if not defs or _uses(stmts, t) != [j] or _writes_between(stmts, names_in(stmts[defs[-1]].value) | {t},
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


def forks(stmts, env):
    """``d = a.copy()`` (or any first value) then ``d += b`` ... -> one sum at the last write,
    when nothing reads ``d`` in between and the terms' names do not change meanwhile."""
    stmts = list(stmts)
    for i, s in enumerate(stmts):
        name, kind = written_by(s)
        if kind != "=":
            continue
        writes = [k for k in range(i + 1, len(stmts)) if written_by(stmts[k])[0] == name]
        adds = [k for k in writes if written_by(stmts[k])[1] == "+="]
        if not adds or adds != writes or any(k not in adds and name in _reads(stmts[k])
                                             for k in range(i + 1, adds[-1])):
            continue
        terms = [_uncopied(s.value)] + [stmts[k].value for k in adds]
        spans = [i] + adds
        if any(name in names_in(t) for t in terms):
            continue
        if any(_writes_between(stmts, names_in(t), a, adds[-1]) for t, a in zip(terms, spans)):
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
        name, kind = written_by(s)
        if kind != "=" or _uncopied(s.value) is s.value or not isinstance(_uncopied(s.value), ast.Name):
            continue
        src = _uncopied(s.value).id
        if not any(written_by(t)[0] in (name, src) and written_by(t)[1] != "=" for t in out[i + 1:]):
            out[i] = ast.fix_missing_locations(ast.Assign([ast.Name(name, ast.Store())], _uncopied(s.value)))
    return out


def aliases(stmts, kept):
    """``a = b`` where neither name is added to or changed after: ``b`` read for ``a``."""
    out = list(stmts)
    for i, s in enumerate(out):
        name, kind = written_by(s)
        if kind != "=" or not isinstance(s.value, ast.Name) or name in kept:
            continue
        src = s.value.id
        if any(written_by(t)[0] in (name, src) for t in out[i + 1:]):
            continue
        out[i] = ast.Pass()
        out[i + 1:] = [_substitute(t, name, ast.Name(src, ast.Load())) for t in out[i + 1:]]
    return [s for s in out if not isinstance(s, ast.Pass)]


def _uncopied(node):
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "copy" \
            and not node.args:
        return node.func.value
    return node
