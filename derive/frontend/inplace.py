"""In-place changes in course code: writes into configuration, arrays changed in place.

``bn_param['running_mean'] = ...`` is ignored with a note (configuration does not reach the
output), and a later read of that key is an error, never the stale value. NumPy's ``y += 1``
and ``y[0] = 1`` change the array itself, so every name for it (``y = x``; a helper's
parameter and the caller's argument) sees the change: derive stages ``y += 1`` as ``y = y + 1``
only when no other name sees that array, and refuses otherwise rather than give a wrong number.
"""
from __future__ import annotations

import ast

from derive.frontend.config import NotStatic, Pack, Poison, Static, static
from derive.core.errors import DeriveError


def sharing(reader, name):
    """The names (``name`` itself for a helper's parameter: the caller's array) that see an
    in-place change of ``name``'s array; empty if it is the only one (or a plain number)."""
    node = reader.env.get(name)
    if not reader.tolerant or node is None or isinstance(node, (Static, Pack, Poison)) or node.is_const:
        return []
    others = [k for k, v in reader.env.items() if v is node and k != name]
    return ([name] if name in reader.shared else []) + others


def in_place(reader, names, name, err, lineno):
    """An in-place change: an error if the caller's array changes, else every name of the
    array becomes unstaged (an error only if the output needs it)."""
    if name in reader.shared or not reader.tolerant:
        raise err
    p = reader.poison(err, lineno)
    for k in set(names) | {name}:
        reader.env[k] = p


def write_into(reader, t, st):
    """``bn_param['running_mean'] = ...``: a write into configuration is ignored (noted), and
    reading that key later is an error; an indexed update of an array is not staged."""
    base = t.value
    while isinstance(base, ast.Subscript):
        base = base.value
    held = reader.peek(base.id) if isinstance(base, ast.Name) else None
    if isinstance(held, Static) and isinstance(held.value, dict):
        reader.note(f"{reader.where(st.lineno)}: the write into {ast.unparse(t)[:40]} is ignored: "
                    f"configuration does not reach the output")
        read = Poison(DeriveError(f"{ast.unparse(t)[:40]} is read after line {st.lineno} wrote it; derive "
                                  f"reads configuration only as given in constants="), st.lineno)
        try:
            key = static(reader, t.slice) if t.value is base else None
        except (NotStatic, DeriveError):
            key = None
        if key is None:
            raise DeriveError(f"unsupported construct: a write into {ast.unparse(t)[:40]} with a computed key "
                              f"at line {st.lineno}")
        held.value[key] = read  # the one dict every name (and a helper's caller) holds: a copy of constants=
        return
    op = " " + ast.unparse(ast.AugAssign(ast.Name("a"), st.op, ast.Name("b"))).split()[1] \
        if isinstance(st, ast.AugAssign) else " ="
    err = DeriveError(f"unsupported construct: an in-place update {ast.unparse(t)[:40]}"
                      f"{op} ... at line {st.lineno}; "
                      f"build a new array instead (np.where(mask, value, x), x * mask, ...)")
    if not isinstance(base, ast.Name):
        raise err
    shared = sharing(reader, base.id)
    if shared or t.value is not base or not hasattr(reader, "set_index"):
        in_place(reader, shared, base.id, err, st.lineno)
        return
    try:  # an array only this name holds: x[i] = v is x = setitem(x, (i,), v)
        op = reader.augmented(st.op) if isinstance(st, ast.AugAssign) else None
        new = reader.set_index(t, reader.expr(st.value), op)
    except DeriveError as e:
        new = reader.poison(e, st.lineno)
    reader.bind_value(base.id, new)
