"""Loops and branches on data in function bodies: ``for`` unrolled, ``while`` and ``if`` at a point.

``for i in range(N):`` (constants, shapes, ``constants=`` integers), ``for x in X:`` (the rows of
an array), ``for a in [..]``, ``enumerate`` and ``zip`` of these: the body is read once per
iteration with the loop variable bound, so every later reader (run, check, printers, circuits,
sheets, grading) sees straight-line code. Values made in an iteration are named with it
(``margin_i0_j2``) and their lines are labelled ``iteration i=0, j=2``. A condition on the data
(``if margin > 0:``, ``while err > tol:``) is taken at the point given with ``at=`` (tracing
semantics, as micrograd, autograd and eager JAX use): a note names the branch taken and says the
gradient is that branch's. The numbers come from ``reader.g.control`` (given by the stager:
``derive.staging.loops.Control``), which evaluates graph nodes at the point or on the shapes.
"""
from __future__ import annotations

import ast
import operator

from derive.core.errors import DeriveError
from derive.frontend.config import NotStatic, Pack, Poison, Static, static
from derive.frontend.rolled import read_rolled

MAX_TRIPS = 10_000   # iterations of one loop (the graph's node limit stops larger programs anyway)
CONTINUE, BREAK = object(), object()  # what a block read to a ``continue`` / ``break`` returns

_CMP = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
        ast.Gt: operator.gt, ast.GtE: operator.ge}


class NeedPoint(DeriveError):
    """A number that depends on the data was needed while reading, and no point was given."""


def control(reader):
    return getattr(reader.g, "control", None)


def _short(node) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 50 else text[:47] + "..."


# ---- for ----------------------------------------------------------------------------------
def read_for(reader, st: ast.For):
    """Read a ``for`` loop unrolled; ``(value,)`` if its body returns, else None."""
    where = reader.where(st.lineno)
    ctl = control(reader)
    if st.orelse:
        raise DeriveError(f"unsupported construct: for ... else at {where}: write the loop without else")
    if ctl is None or not ctl.unroll:
        return read_rolled(reader, st, where, lambda a: integer(reader, a, where))
    if reader.rolled:
        raise DeriveError(f"unsupported construct: a for loop at {where} inside a rolled loop: stage it unrolled "
                          f"(derive.stage(f, unroll=True), or --unroll on the command line)")
    if st.orelse:
        raise DeriveError(f"unsupported construct: for ... else at {where}: write the loop without else")
    items = _items(reader, st.iter, where)
    names = _target_names(st.target, where)
    outer_tag, outer_label = reader.iteration, reader.g.label
    try:
        for k, item in enumerate(items):
            _bind_target(reader, st.target, item, where)
            shown = item.value if isinstance(item, Static) and type(item.value) is int else k
            done = _body(reader, st.body, outer_tag + ((names[0], shown),), outer_label)
            if done is BREAK:
                break
            if done is not None:
                return done
    finally:
        reader.iteration, reader.g.label = outer_tag, outer_label
    return None


def _body(reader, body, tag, outer_label):
    """Read one iteration of a loop body under ``tag`` (("i", 0), ("j", 2)): BREAK, a return's
    ``(value,)``, or None (the body ran to its end or to a ``continue``)."""
    reader.iteration = tag
    head = outer_label if outer_label and not outer_label.startswith("iteration ") else ""
    reader.g.label = ", ".join(filter(None, [head, "iteration " + ", ".join(f"{n}={v}" for n, v in tag)]))
    done = reader.block(body)
    return None if done is CONTINUE else done


def _target_names(t, where):
    if isinstance(t, ast.Name):
        return [t.id]
    if isinstance(t, ast.Tuple) and t.elts and all(isinstance(e, ast.Name) for e in t.elts):
        return [e.id for e in t.elts]
    raise DeriveError(f"unsupported construct: a for loop over {ast.unparse(t)[:30]} at {where}: "
                      f"use a name or a tuple of names (for i, x in enumerate(xs))")


def _bind_target(reader, t, item, where):
    if isinstance(t, ast.Name):
        reader.bind_value(t.id, item)
        return
    parts = item.items if isinstance(item, Pack) else \
        tuple(Static(v) for v in item.value) if isinstance(item, Static) and isinstance(item.value, (tuple, list)) \
        else None
    if parts is None or len(parts) != len(t.elts):
        raise DeriveError(f"cannot unpack an item of the loop at {where} into {len(t.elts)} names")
    for e, v in zip(t.elts, parts):
        reader.bind_value(e.id, v)


def _items(reader, it, where) -> list:
    """What a ``for`` iterates over, as values (Static, Pack or graph nodes)."""
    if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id not in reader.env and not it.keywords:
        fname, args = it.func.id, it.args
        if fname in ("range", "xrange"):
            if not 1 <= len(args) <= 3:
                raise DeriveError(f"range() takes 1 to 3 arguments (at {where})")
            bounds = [integer(reader, a, where) for a in args]
            if len(bounds) == 3 and bounds[2] == 0:
                raise DeriveError(f"range() with a step of 0 at {where}")
            out = range(*bounds)
            _check_trips(len(out), where)
            return [Static(i) for i in out]
        if fname == "reversed" and len(args) == 1:
            return list(reversed(_items(reader, args[0], where)))
        if fname == "enumerate" and len(args) == 1:
            return [Pack((Static(k), v)) for k, v in enumerate(_items(reader, args[0], where))]
        if fname == "zip" and args:
            return [Pack(tuple(p)) for p in zip(*[_items(reader, a, where) for a in args])]
    if isinstance(it, (ast.List, ast.Tuple)):
        return [reader.item(e) for e in it.elts]
    value = reader.value(it)
    if isinstance(value, Poison):
        raise value.error
    if isinstance(value, Pack):
        return list(value.items)
    if isinstance(value, Static):
        v = value.value
        if isinstance(v, (list, tuple, str)):
            return [Static(x) for x in v]
        if isinstance(v, dict):
            return [Static(k) for k in v]
        raise DeriveError(f"the loop at {where} iterates over {type(v).__name__}: loop over range(...), "
                          f"an array's rows or a list")
    return _rows(reader, value, it, where)


def _rows(reader, node, it, where):
    """``for x in X``: the rows ``X[0]``, ``X[1]``, ... of an array whose shape is known."""
    ctl = control(reader)
    shape = ctl.shape(node, where, _short(it)) if ctl is not None else None
    if not shape:
        raise DeriveError(f"the loop at {where} iterates over {_short(it)}, a number: loop over range(...) "
                          f"or an array's rows")
    _check_trips(shape[0], where)
    return [reader.g.op("index", node, opts=(("subscript", str(k)), ("advanced", False))) for k in range(shape[0])]


def _check_trips(n, where):
    if n > MAX_TRIPS:
        raise DeriveError(f"the loop at {where} runs {n:,} times; unrolled staging allows at most "
                          f"{MAX_TRIPS:,} (stage a smaller instance)")


def integer(reader, a, where) -> int:
    """A loop bound: a constant, configuration, or a size of the inputs (``N, D = X.shape``)."""
    try:
        v = static(reader, a)
    except NotStatic:
        ctl = control(reader)
        node = reader.expr(a)
        if ctl is None:
            raise DeriveError(f"the bound {_short(a)} of the loop at {where} depends on the inputs: give "
                              f"their shapes (shapes=, --shapes) or the number in constants=") from None
        v = ctl.number(node, where, _short(a))
    if hasattr(v, "item") and getattr(v, "shape", None) == ():
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if type(v) is not int:
        raise DeriveError(f"the bound {_short(a)} of the loop at {where} is {v!r}, not an integer")
    return v


# ---- conditions on data -------------------------------------------------------------------
def condition(reader, test, where, kind="if statement"):
    """The truth of ``test``: known at staging (configuration, sizes), or taken at the point."""
    try:
        return bool(static(reader, test)), False
    except NotStatic:
        pass
    if reader.rolled:
        raise DeriveError(f"unsupported construct: an {kind} on values of the loop at {where} (inside a rolled "
                          f"loop): stage it unrolled (derive.stage(f, unroll=True), with at= for conditions on data)")
    ctl = control(reader)
    if ctl is None:
        raise NeedPoint(_refusal(kind, where))
    ctl.used_data = False
    try:
        v = _truth(reader, test, where)
    except NeedPoint:
        raise NeedPoint(_refusal(kind, where)) from None
    return v, ctl.used_data


def comparison(reader, n):
    """``(k == y[i])`` used as a number, staged at a point: its value there (a constant), or None."""
    if getattr(control(reader), "point", None) is None:
        return None
    where = reader.where(n.lineno)
    taken = condition(reader, n, where, "comparison")[0]
    reader.note(f"{where}: `{_short(n)}` depends on the data: its value at the given point is staged as a "
                f"constant (its gradient is 0)")
    return reader.g.const(int(taken))


def _refusal(kind, where):
    if kind == "while loop":
        return (f"unsupported construct: a while loop at {where} whose condition depends on the inputs: "
                f"stage it at a point (derive.stage(f, at={{...}}), or --at on the command line); "
                f"the trip count at that point is recorded")
    return (f"unsupported construct: an {kind} at {where} whose condition depends on the inputs: stage it "
            f"at a point (derive.stage(f, at={{...}}), --at) to take the branch there, or write "
            f"np.where(...) or np.maximum(...) for an elementwise choice")


def _truth(reader, n, where) -> bool:
    if isinstance(n, ast.BoolOp):
        for v in n.values:
            t = _truth(reader, v, where)
            if isinstance(n.op, ast.And) and not t:
                return False
            if isinstance(n.op, ast.Or) and t:
                return True
        return isinstance(n.op, ast.And)
    if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not):
        return not _truth(reader, n.operand, where)
    if isinstance(n, ast.Compare) and all(type(op) in _CMP for op in n.ops):
        left = operand(reader, n.left, where)
        for op, right in zip(n.ops, n.comparators):
            right = operand(reader, right, where)
            if not _scalar_truth(_CMP[type(op)](left, right), n, where):
                return False
            left = right
        return True
    return _scalar_truth(operand(reader, n, where), n, where)


def operand(reader, e, where):
    """A number (or array) in a condition: known at staging, or the value at the point."""
    try:
        return static(reader, e)
    except NotStatic:
        return control(reader).number(reader.expr(e), where, _short(e))


def _scalar_truth(v, n, where) -> bool:
    size = getattr(v, "size", 1)
    if size != 1:
        raise DeriveError(f"the condition {_short(n)} at {where} is an array of {size} truth values: "
                          f"write np.where(cond, a, b) for an elementwise choice")
    return bool(v.item() if hasattr(v, "item") else v)


def record(reader, lineno, test, taken: bool, kind="if"):
    """One note per data branch: which side was taken at the point (and how often, in a loop)."""
    counts = reader.g.__dict__.setdefault("branch_counts", {})
    key = (reader.where(lineno), _short(test))
    old = counts.get(key)
    t, f = old[0] if old else (0, 0)
    t, f = (t + 1, f) if taken else (t, f + 1)
    if not old:
        reader.g.notes.append("")
        counts[key] = [(t, f), len(reader.g.notes) - 1]
    else:
        counts[key][0] = (t, f)
    here, text = key
    if t + f == 1:
        body = f"`{text}` is {taken} at the given point, so the {'if' if taken else 'else'} branch is staged"
    else:
        body = f"`{text}` is taken at the given point: True {t} times, False {f} times"
    reader.g.notes[counts[key][1]] = (f"{here}: {body}; the condition depends on the data, so the gradient "
                                      f"is that of the branches taken there (tracing, as micrograd and "
                                      f"autograd do)")


# ---- while ----------------------------------------------------------------------------------
def read_while(reader, st: ast.While):
    """A ``while`` loop read at the point: its condition checked before every iteration."""
    where = reader.where(st.lineno)
    if st.orelse:
        raise DeriveError(f"unsupported construct: while ... else at {where}: write the loop without else")
    trips, on_data = 0, False
    outer_tag, outer_label = reader.iteration, reader.g.label
    try:
        while True:
            go, data = condition(reader, st.test, where, "while loop")
            on_data = on_data or data
            if not go:
                break
            if trips + 1 > MAX_TRIPS:
                raise DeriveError(f"unsupported construct: a while loop at {where} that runs more than "
                                  f"{MAX_TRIPS:,} times (endless?): derive stages at most {MAX_TRIPS:,} iterations")
            done = _body(reader, st.body, outer_tag + (("while", trips),), outer_label)
            trips += 1
            if done is BREAK:
                break
            if done is not None:
                return done
    finally:
        reader.iteration, reader.g.label = outer_tag, outer_label
    if on_data:
        reader.note(f"{where}: the while loop `{_short(st.test)}` ran {trips} time{'s' * (trips != 1)} at the "
                    f"given point and is staged with that trip count; another point may need another count")
    else:
        reader.note(f"{where}: the while loop ran {trips} time{'s' * (trips != 1)} (known when staging)")
    return None
