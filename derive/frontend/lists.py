"""Python lists in an array function: ``hs = []``, ``hs.append(h)``, ``hs[1:]``, ``[a, b]``, and
``np.stack`` / ``np.concatenate`` of them, read by ``derive.frontend.arrays``.

A list is a ``config.Pack`` of its items; ``hs.append(h)`` binds ``hs`` again with one more item
(so only a list the function made, and named once, may grow). ``np.stack(hs, axis=1)`` is one
gate whose arguments are the arrays; each argument's adjoint is its slice of the gate's adjoint
(``dh = dH[:, 0]``; for ``np.concatenate``, ``da = dc[:, :a.shape[1]]``), kept in the gate's
``parts`` option.
"""
from __future__ import annotations

import ast

from derive.core.errors import DeriveError
from derive.core.rules import ARRAY_RULES
from derive.frontend import rolled_lists
from derive.frontend.config import NotStatic, Pack, Poison, Static, static
from derive.frontend.rolled_lists import Steps


def list_value(reader, n):
    """``[a, b]`` or ``hs[1:]`` (a slice of a list) as a list, or None for other expressions."""
    if isinstance(n, ast.List):
        return made(reader, Pack(tuple(reader.item(e) for e in n.elts)))
    if isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Slice) and isinstance(n.value, ast.Name) \
            and isinstance(reader.peek(n.value.id), Steps):
        return rolled_lists.slice_of(reader, n, reader.peek(n.value.id))
    if isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Slice) and isinstance(n.value, ast.Name) \
            and isinstance(reader.peek(n.value.id), Pack):
        bounds = [None if b is None else _static_int(reader, b, n) for b in (n.slice.lower, n.slice.upper, n.slice.step)]
        return made(reader, Pack(reader.peek(n.value.id).items[slice(*bounds)]))
    return None


def list_item(reader, n):
    """``h[t]``, ``h[-1]`` of a list a rolled loop appends to (``derive.frontend.rolled_lists``), or None."""
    if isinstance(n, ast.Subscript) and not isinstance(n.slice, ast.Slice) and isinstance(n.value, ast.Name) \
            and isinstance(reader.peek(n.value.id), Steps):
        return rolled_lists.item(reader, n, reader.peek(n.value.id))
    return None


def whole(value):
    """A list a rolled loop fills (``Steps``) used where an array is expected: its one-line refusal."""
    if isinstance(value, Steps):
        list(value.items)  # raises the list's own message


def made(reader, pack):
    """A list made by this function (so ``.append`` may grow it)."""
    reader.lists = getattr(reader, "lists", frozenset()) | {id(pack)}
    return pack


def _static_int(reader, e, n):
    try:
        v = static(reader, e)
    except NotStatic:
        v = None
    if type(v) is not int:
        reader.fail(f"a slice of a list with bounds that are not integer constants ({ast.unparse(n)[:40]})", n)
    return v


def block(reader, stmts, read):
    """``read(stmts)`` (the reader's own statement loop), with ``hs.append(h)`` read here."""
    start = 0
    for i, st in enumerate(stmts):
        if _is_append(st):
            done = read(stmts[start:i])
            if done is not None:
                return done
            reader.at(st)
            append(reader, st)
            start = i + 1
    return read(stmts[start:])


def _is_append(st) -> bool:
    """Is this statement ``name.append(value)``?"""
    return isinstance(st, ast.Expr) and isinstance(st.value, ast.Call) and isinstance(st.value.func, ast.Attribute) \
        and st.value.func.attr == "append" and isinstance(st.value.func.value, ast.Name)


def append(reader, st):
    """``hs.append(h)``: the list ``hs`` is bound again with one more item."""
    call = st.value
    name, old = call.func.value.id, reader.peek(call.func.value.id)
    where = reader.where(st.lineno)
    if len(call.args) != 1 or call.keywords:
        raise DeriveError(f"{name}.append() takes one value (line {st.lineno})")
    if isinstance(old, Steps):
        return rolled_lists.append(reader, name, old, reader.item(call.args[0]), where)
    if isinstance(old, Static) and old.value == []:
        old = made(reader, Pack(()))
    if not isinstance(old, Pack) or id(old) not in getattr(reader, "lists", ()):
        raise DeriveError(f"unsupported construct: {name}.append(...) at {where}: derive appends only to a "
                          f"list the function made ({name} = [] before it)")
    others = [k for k, v in reader.env.items() if v is old and k != name]
    if others:
        raise DeriveError(f"unsupported construct: {name}.append(...) at {where} changes the list that "
                          f"{others[0]} also names: build one list, or copy it with list({name})")
    if len(call.args) != 1 or call.keywords:
        raise DeriveError(f"{name}.append() takes one value (line {st.lineno})")
    reader.env[name] = made(reader, Pack(old.items + (reader.item(call.args[0]),)))


def total(reader, n):
    """``sum(losses)``: a list's items added up, as its stack summed over axis 0
    (``np.sum(np.stack(losses), axis=0)``; for a list a rolled loop fills, over the steps)."""
    items = reader.value(n.args[0])
    if isinstance(items, Steps):
        stacked = rolled_lists.stack(reader, items, 0, n)
    elif isinstance(items, Pack) and items.items:
        stacked = join(reader, ast.Call(ast.Name("np.stack"), [n.args[0]], [], lineno=n.lineno), "stack", "sum")
    else:
        reader.fail("sum() of something other than a list of numbers or arrays the function built "
                    "(use np.sum for the elements of an array)", n)
    return reader.g.op("sum", stacked, opts=(("axis", 0),))


def join(reader, n, rule, shown):
    """``np.stack(hs[1:], axis=1)``, ``np.concatenate([a, b], axis=-1)`` of a list the function
    built: one gate whose arguments are the arrays; each one's adjoint is its slice."""
    kw = {k.arg: k.value for k in n.keywords}
    axis = kw.pop("axis", n.args[1] if len(n.args) > 1 else ast.Constant(0))
    if len(n.args) not in (1, 2) or kw:
        reader.fail(f"{shown}() other than {shown}(list, axis=k)", n)
    if isinstance(axis, ast.UnaryOp) and isinstance(axis.op, ast.USub) and isinstance(axis.operand, ast.Constant):
        axis = ast.Constant(-axis.operand.value)
    if not (isinstance(axis, ast.Constant) and type(axis.value) is int and axis.value >= -1):
        reader.fail(f"{shown}() with an axis that is not a constant (use axis=-1 or a non-negative axis)", n)
    axis = axis.value
    items = reader.value(n.args[0])
    if isinstance(items, Steps) and rule == "stack":
        return rolled_lists.stack(reader, items, axis, n)
    if isinstance(items, Steps):
        reader.fail(f"{shown}() of the list {items.name} filled by a rolled loop (np.stack it instead)", n)
    if not isinstance(items, Pack) or not items.items:
        reader.fail(f"{shown}() of something other than a list of arrays the function built "
                    f"([a, b], or a list filled with .append)", n)
    if len(items.items) > ARRAY_RULES[rule].arity:
        reader.fail(f"{shown}() of more than {ARRAY_RULES[rule].arity} arrays", n)
    nodes = [v if not isinstance(v, (Static, Pack, Poison)) else reader.resolve_item(v, n) for v in items.items]
    lead = "..., " if axis == -1 else ":, " * axis
    if rule == "stack":
        parts = [f"{lead}{i}" for i in range(len(nodes))]
    else:
        ends = [" + ".join(f"{{{j}}}.shape[{axis}]" for j in range(i + 1)) for i in range(len(nodes))]
        parts = [f"{lead}{ends[i - 1] if i else ''}:{ends[i] if i < len(nodes) - 1 else ''}"
                 for i in range(len(nodes))]
    listed = ", ".join("{%d}" % i for i in range(len(nodes)))
    return reader.g.op(rule, *nodes, opts=(("axis", axis), ("subscript", listed), ("parts", tuple(parts))))
