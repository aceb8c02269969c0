"""Rolled loops: a ``for`` over ``range`` read once, its body staged as one iteration.

The default for ``for i in range(n):`` (``unroll=True`` reads it once per iteration instead).
Each name the body rebinds and that held a value before the loop is *carried*: at the loop's
start it gets a node of its own (``h_1 = h``, the value entering an iteration), the body is read
once with the loop variable as an input, and the name's value at the body's end is the value
leaving the iteration. The graph is then the program of one iteration; the stager turns it into
a loop block (``derive.staging.rolled``): forward lines in ``for i in range(n):``, the backward
in ``for i in reversed(range(n)):`` with the values it needs stored per step. Staging costs the
size of the body, whatever ``n``.
"""
from __future__ import annotations

import ast

from derive.core.errors import DeriveError
from derive.frontend import rolled_lists
from derive.frontend.config import Pack, Poison, Static
from derive.frontend.parse import Node


def _refuse(where, what):
    raise DeriveError(f"unsupported construct: a for loop at {where} {what}: stage it unrolled "
                      f"(derive.stage(f, unroll=True), or --unroll on the command line)")


def read_rolled(reader, st: ast.For, where, bound):
    """Read ``st`` as one rolled loop; ``bound(expr)`` gives a range bound as an int."""
    g = reader.g
    if reader.rolled:
        _refuse(where, "inside a rolled loop")
    it = st.iter
    if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"
            and 1 <= len(it.args) <= 2 and not it.keywords and "range" not in reader.env):
        _refuse(where, "over something other than range(n) or range(a, b) (rolled loops run over a range)")
    if not isinstance(st.target, ast.Name):
        _refuse(where, "with a tuple target (rolled loops bind one name)")
    bounds = [bound(a) for a in it.args]
    start, stop = (0, bounds[0]) if len(bounds) == 1 else bounds
    if stop <= start:
        raise DeriveError(f"the loop at {where} runs 0 times (range({start}, {stop})): give sizes that run it")
    var = st.target.id
    if var in dict(g.params) or var in g.inputs:
        _refuse(where, f"whose variable is named like the parameter {var}")
    assigned = _assigned(st.body)
    carried = [n for n in assigned if _is_node(reader.peek(n)) and n in reader.env]
    entries = {}
    for name in carried:
        pre = reader.env[name]
        if not isinstance(pre, Node):  # a scalar function's parameter not read yet
            pre = reader.lookup(name, st)
        node = g.new("id", (pre,), opts=(("carried", name),))  # the value entering an iteration (not folded)
        node.user_name = name
        reader.env[name] = entries[name] = node
    opened = rolled_lists.open_lists(reader, st.body, var, start, where)  # h.append(v) once per step
    lists = {k: v for k, v in reader.env.items() if isinstance(v, Pack)}
    index = g.input(var)
    index.counter = True  # one integer per step: x[:, t] is basic indexing (dx[:, t] += g)
    reader.env[var] = index
    first = len(g.nodes)
    reader.rolled = True
    try:
        done = reader.block(st.body)
    finally:
        reader.rolled = False
    if done is not None:
        _refuse(where, "with return, break or continue in its body (rolled loops run every step)")
    grown = [k for k, v in lists.items() if reader.env.get(k) is not v and k not in opened]
    if grown:
        _refuse(where, f"that appends to the list {grown[0]} (a rolled loop reads its body once)")
    record = dict(var=var, start=start, stop=stop, lineno=st.lineno, carried=[], stacks=[])
    list_pairs = rolled_lists.close_lists(reader, opened, record, where)
    for steps in opened.values():
        if steps.used_last:
            entries[f"{steps.name}[-1]"] = steps.last
    body = g.nodes[first:]
    ids = {id(n) for n in body} | {id(n) for n in entries.values()}
    g._memo = {k: v for k, v in g._memo.items() if id(v) not in ids}  # per-step values: never shared later
    pairs = list(list_pairs)
    for name in carried:
        out = reader.env[name]
        if isinstance(out, (Static, Pack, Poison)):
            _refuse(where, f"in which {name} stops being a number or array")
        if out is not entries[name]:
            pairs.append((entries[name], out))
    for name in assigned:
        if name not in carried:  # made in the loop and read after it: only the last step's value
            reader.env[name] = Poison(DeriveError(
                f"'{name}' is assigned inside the rolled loop at {where} and read after it: stage it "
                f"unrolled (derive.stage(f, unroll=True), or --unroll)"), st.lineno)
    reader.env.pop(var, None)
    record.update(index=index, body=body, entries=list(entries.values()), carried=pairs)
    g.__dict__.setdefault("loops", []).append(record)  # stacks: np.stack of its lists, read after it
    return None


def _is_node(v):
    return v is not None and not isinstance(v, (Static, Pack, Poison))


def _assigned(body) -> list:
    """Names a loop body binds (``h = ...``, ``loss += ...``, ``a, b = ...``), in order."""
    out = []
    for n in ast.walk(ast.Module(body=list(body), type_ignores=[])):
        targets = n.targets if isinstance(n, ast.Assign) else [n.target] if isinstance(n, (ast.AugAssign, ast.AnnAssign)) \
            else []
        for t in targets:
            while isinstance(t, ast.Subscript):  # dW[:, j] += ...: dW is rebound
                t = t.value
            for e in ast.walk(t):
                if isinstance(e, ast.Name) and (isinstance(e.ctx, ast.Store) or e is t) and e.id not in out:
                    out.append(e.id)
    return out
