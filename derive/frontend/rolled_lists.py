"""Lists appended to in a rolled loop: ``h.append(next_h)`` once per step, read as a stack.

A list the function made (``h = []``, ``h = [h0]``) and appended to once per step of a rolled
loop (``derive.frontend.rolled``) is a ``Steps`` value instead of a tuple of items. While the
body is read, ``h[-1]`` (or ``h[t]`` when it names the last item, as in ``h = [h0]`` then
``h[t]``) is the value appended at the step before: a carried value (``h_t``), like
``prev_h = next_h``. After the loop the list is the items it held before the loop followed by
the appended value at every step: ``np.stack(h[1:], axis=1)`` is one ``stack`` gate whose
argument is the body's value and whose parts are the steps' slices (``dh[:, t]``, added in the
reversed loop where the step's own gradient meets it), ``h[-1]`` is the last step's value,
``np.array(h)`` stacks on axis 0. Anything else says what to write instead.
"""
from __future__ import annotations

import ast

from derive.core.errors import DeriveError
from derive.frontend.config import NotStatic, Pack, Poison, Static, static


class _Closed(tuple):
    """The items of a list filled by a rolled loop: not readable one by one."""

    def __new__(cls, why):
        out = super().__new__(cls, ())
        out.why = why
        return out

    def _refuse(self, *_):
        raise DeriveError(self.why)

    __iter__ = __getitem__ = __len__ = __add__ = _refuse


class Steps(Pack):
    """A list appended to once per step of a rolled loop (a ``Pack`` whose items are closed)."""

    __setattr__ = object.__setattr__

    def __init__(self, name, pre, where, counter, loop=None, value=None):
        why = (f"the list {name} is filled by the rolled loop at {where}: read it as np.stack({name}, axis=k), "
               f"np.stack({name}[1:], axis=k), {name}[-1] or np.array({name}), or stage the loop unrolled "
               f"(derive.stage(f, unroll=True), or --unroll)")
        self.items = _Closed(why)
        self.name, self.pre, self.where, self.counter = name, tuple(pre), where, counter  # counter: (var, start)
        self.loop, self.value = loop, value  # after the loop: its record, and the value appended
        self.last = None       # while the body is read: the node of the last item (``h_t``)
        self.used_last = False
        self.appended = []     # values appended while the body is read
        self.before = None     # what the name held before the loop

    def again(self, pre=None, loop=None, value=None):
        return Steps(self.name, self.pre if pre is None else pre, self.where, self.counter,
                     loop or self.loop, value if value is not None else self.value)

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other


def appended_names(body) -> list:
    """Names ``x`` of ``x.append(...)`` statements in a loop body."""
    out = []
    for n in ast.walk(ast.Module(body=list(body), type_ignores=[])):
        if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call) and isinstance(n.value.func, ast.Attribute) \
                and n.value.func.attr == "append" and isinstance(n.value.func.value, ast.Name):
            if n.value.func.value.id not in out:
                out.append(n.value.func.value.id)
    return out


def open_lists(reader, body, var, start, where):
    """Before a rolled loop's body is read: each list the body appends to becomes ``Steps``;
    its last item, when there is one, gets a node of its own (``h_t``: entering a step)."""
    out = {}
    for name in appended_names(body):
        old = reader.peek(name)
        if isinstance(old, Static) and old.value == []:
            old = Pack(())
        elif not (isinstance(old, Pack) and id(old) in getattr(reader, "lists", ())) or isinstance(old, Steps):
            continue  # lists.append says what is wrong when the body runs
        steps = Steps(name, old.items, where, (var, start))
        steps.before = reader.peek(name)
        last = old.items[-1] if old.items else None
        if isinstance(last, Static) and type(last.value) in (int, float):
            last = reader.g.const(last.value)  # h = [0.0]
        if last is not None and not isinstance(last, (Static, Pack, Poison)):
            node = reader.g.new("id", (last,), opts=(("carried", name),))
            node.user_name = f"{name}_{var}"
            steps.last = node
        reader.env[name] = out[name] = steps
    return out


def close_lists(reader, opened, loop, where):
    """After the body: the lists become ``Steps`` after the loop (or a Poison naming the problem);
    returns the carried pairs (``h_t``, the value appended) of the lists whose last item was read."""
    g, pairs = reader.g, []
    for name, steps in opened.items():
        if steps.last is not None and not steps.used_last:
            steps.last.user_name = None  # made for h[t], never read: no line
        if not steps.appended:  # appended only in a branch not taken
            reader.env[name] = steps.before
            continue
        if len(steps.appended) > 1:
            raise DeriveError(f"unsupported construct: the list {name} is appended to {len(steps.appended)} times "
                              f"in each step of the rolled loop at {where}: append once per step, or stage it "
                              f"unrolled (derive.stage(f, unroll=True))")
        value = steps.appended[0]
        if isinstance(value, (Static, Pack, Poison)):
            what = "tuples" if isinstance(value, Pack) else "values that are not staged" \
                if isinstance(value, Poison) else "configuration"
            reader.env[name] = Poison(DeriveError(
                f"the list {name} is filled with {what} in the rolled loop at {where}: derive reads lists of "
                f"arrays appended in a rolled loop; stage it unrolled (derive.stage(f, unroll=True))"), loop["lineno"])
            continue
        if steps.used_last:
            pairs.append((steps.last, value))
        reader.env[name] = steps.again(loop=loop, value=value)
    return pairs


def append(reader, name, steps, value, where):
    """``h.append(v)`` in the body of the rolled loop that reads ``h`` as ``Steps``."""
    if steps.loop is not None:
        raise DeriveError(f"unsupported construct: {name}.append(...) at {where} after the rolled loop that "
                          f"filled {name}: append in the loop only, or stage it unrolled (unroll=True)")
    steps.appended.append(value)


def item(reader, n, steps):
    """``h[-1]``, ``h[t]``, ``h[0]`` of a list in or after a rolled loop."""
    where = reader.where(n.lineno)
    try:
        k = static(reader, n.slice)
    except NotStatic:
        k = None
    p = len(steps.pre)
    if steps.loop is None:  # inside the body: the items before the loop, or the last one
        done = len(steps.appended)
        if k == -1 or k is None and _counter_offset(n.slice, steps.counter) == p + done - 1 - steps.counter[1]:
            if done:
                return steps.appended[-1]
            if steps.last is not None:
                steps.used_last = True
                return steps.last
        elif type(k) is int and 0 <= k < p:
            return steps.pre[k]  # an item from before the loop: the same at every step
        raise DeriveError(f"unsupported construct: {ast.unparse(n)[:40]} at {where} reads an item of the list "
                          f"{steps.name} other than the last one (a rolled loop keeps the last one, "
                          f"{steps.name}[-1]); stage it unrolled (derive.stage(f, unroll=True))")
    if type(k) is not int:
        raise DeriveError(f"unsupported construct: {ast.unparse(n)[:40]} at {where}: after the rolled loop, "
                          f"index the list {steps.name} by a constant ({steps.name}[-1]) or stack it")
    if k == -1:
        for _, out in steps.loop["carried"]:
            if out is steps.value:
                return out  # the last step's value, carried out of the loop
    size = p + steps.loop["stop"] - steps.loop["start"]
    if not -size <= k < size:
        raise DeriveError(f"{ast.unparse(n)[:40]} at {where}: the list {steps.name} has {size} items")
    if 0 <= k < p:
        return steps.pre[k]
    return reader.g.op("index", stack(reader, steps, 0, n), opts=(("subscript", str(k)), ("advanced", False)))


def _counter_offset(e, counter):
    """``c`` of an index ``t + c`` (``t - c``, ``t``) on the loop's counter ``t``, else None."""
    c = 0
    if isinstance(e, ast.BinOp) and isinstance(e.op, (ast.Add, ast.Sub)) and isinstance(e.right, ast.Constant) \
            and type(e.right.value) is int:
        c = e.right.value if isinstance(e.op, ast.Add) else -e.right.value
        e = e.left
    return c if isinstance(e, ast.Name) and e.id == counter[0] else None


def slice_of(reader, n, steps):
    """``h[1:]`` after the loop: fewer items from before it, then every step's."""
    s = n.slice
    try:
        lo = 0 if s.lower is None else static(reader, s.lower)
    except NotStatic:
        lo = None
    if steps.loop is None or s.upper is not None or s.step is not None or type(lo) is not int \
            or not 0 <= lo <= len(steps.pre):
        raise DeriveError(f"unsupported construct: {ast.unparse(n)[:40]} at {reader.where(n.lineno)}: a list "
                          f"filled by a rolled loop is sliced only as {steps.name}[k:] with k at most "
                          f"{len(steps.pre)} (the items it held before the loop)")
    return steps.again(pre=steps.pre[lo:])


def stack(reader, steps, axis, n=None):
    """``np.stack(h, axis=k)`` after the loop: one gate over the items from before the loop and
    the body's value, whose part at step ``t`` is the stack's slice ``[:, t + p]``."""
    if steps.loop is None:
        raise DeriveError(f"unsupported construct: stacking the list {steps.name} inside the rolled loop that "
                          f"fills it at {steps.where}: stack it after the loop, or stage it unrolled (unroll=True)")
    lp = steps.loop
    pre = [v if not isinstance(v, (Static, Pack, Poison)) else reader.resolve_item(v, n) for v in steps.pre]
    p, lead = len(pre), "..., " if axis == -1 else ":, " * axis
    offset = p - lp["start"]
    step = lp["var"] + (f" + {offset}" if offset > 0 else f" - {-offset}" if offset < 0 else "")
    parts = tuple(f"{lead}{i}" for i in range(p)) + (f"{lead}{step}",)
    rng = f"range({lp['stop']})" if lp["start"] == 0 else f"range({lp['start']}, {lp['stop']})"
    listed = "".join("{%d}, " % i for i in range(p)) + "*[{%d} for %s in %s]" % (p, lp["var"], rng)
    node = reader.g.new("stack", tuple(pre) + (steps.value,),
                        opts=(("axis", axis), ("subscript", listed), ("parts", parts), ("steps", steps.name)))
    if node not in lp["stacks"]:
        lp["stacks"].append(node)
    return node
