"""Outputs as course code writes them: tuple returns, ``output=``, the learner's own gradients.

``return out, cache`` differentiates ``out`` (``output="name"`` picks another item). A function
that returns its hand-written gradient next to its value (``return loss, dx``, CS231n's
``svm_loss_vectorized``) gets a free check: the reader keeps the returned ``d<param>`` lines
(``Graph.handwritten``), and every run says whether they agree with derive's gradient.
"""
from __future__ import annotations

import ast

import numpy as np

from derive.frontend.config import Pack, Poison, Static, describe
from derive.core.errors import DeriveError

RTOL, ATOL = 1e-7, 1e-9


def select_output(reader, value, output=None):
    """The node to differentiate: what the function returns, the first item of a returned
    tuple (``return out, cache``), or the item named ``output``. Returned ``d<param>`` items
    (``return loss, dW``) are the learner's own gradients: kept, to compare when run."""
    if output is not None and not isinstance(output, str):
        raise DeriveError(f"output= names a returned value (a string like 'loss'), not {type(output).__name__}")
    ret = reader.returned
    elts = ret.elts if isinstance(ret, ast.Tuple) else [ret]
    names = [e.id if isinstance(e, ast.Name) else None for e in elts]
    items = value.items if isinstance(value, Pack) else (value,)
    shown = ", ".join(n or "..." for n in names)
    if output is None:
        chosen, cname = items[0], names[0]
    elif output in names:
        chosen, cname = items[names.index(output)], output
    elif output in reader.env:
        chosen, cname = reader.env[output], output
    else:
        raise DeriveError(f"output={output!r}: no such value; the function returns ({shown})")
    if isinstance(chosen, Poison):
        raise chosen.error
    if isinstance(chosen, (Static, Pack)):
        what = "a tuple" if isinstance(chosen, Pack) else describe(chosen.value)
        raise DeriveError(f"the output {cname or 'value'} is {what}, not a number or array: pick "
                          f"another with output=\"name\" (the function returns ({shown}))")
    params = getattr(reader, "params", None) or [p for p, _ in reader.g.params]
    for name, item in zip(names, items):
        if not name or name == cname or not name.startswith("d") or name[1:] not in params:
            continue
        if isinstance(item, Poison):
            reader.note(f"your own gradient {name} (returned) is not staged, so it is not compared: {item.error}")
        elif not isinstance(item, (Static, Pack)):
            reader.g.handwritten[name[1:]] = (item, name)
    if len(items) > 1:
        reader.note(f"the function returns ({shown}); derive differentiates {cname or 'the first item'}"
                    + (" (output= picks another)" if output is None else ""))
    return chosen


def compare_handwritten(prog, values, grad) -> dict:
    """{param: (agrees, largest absolute difference, the learner's name, its shape)} at one run."""
    staged = prog.staged
    out = {}
    for param, (node, shown) in getattr(staged.g, "handwritten", {}).items():
        name = staged.names.get(node)  # its line's name (dW_1 when dW was assigned before)
        if name not in values or param not in grad:
            continue
        mine, theirs = np.asarray(grad[param], dtype=float), np.asarray(values[name], dtype=float)
        if mine.shape != theirs.shape:
            out[param] = (False, float("inf"), shown, theirs.shape)
            continue
        diff = float(np.max(np.abs(mine - theirs))) if mine.size else 0.0
        out[param] = (bool(np.allclose(theirs, mine, rtol=RTOL, atol=ATOL)), diff, shown, theirs.shape)
    return out


def handwritten_notes(prog, values, grad) -> list:
    """One note per returned hand-written gradient: agrees, or where and by how much not."""
    notes = []
    for param, (ok, diff, name, shape) in compare_handwritten(prog, values, grad).items():
        if ok:
            notes.append(f"your {name} agrees with the generated gradient of {param} "
                         f"(largest difference {diff:.1e})")
        elif diff == float("inf"):
            notes.append(f"your {name} has shape {shape}, but {param} has shape "
                         f"{np.shape(grad[param])}: it is not its gradient")
        else:
            notes.append(f"your {name} differs from the generated gradient of {param} "
                         f"(largest difference {diff:.3g}): check your backward lines")
    return notes
