"""Rolled loops in a program: the loop block (data), its printed Python, and running it.

A rolled loop is staged as one iteration (``derive.frontend.rolled``): its forward lines are
lines ``first..last`` of the program, and its backward lines those that differentiate them.
``Loop`` holds what turns them back into loops: the loop variable and range, the carried pairs
(``h_1`` entering a step, ``h_2`` leaving it), the values stored per step for the backward pass
(the tape, ``hs[i] = h_1``), the adjoints zeroed before the backward loop and the ones it adds
into (``dW +=``: a weight used at every step has the sum over steps as its gradient). The
forward prints as the learner's loop; the backward as ``for i in reversed(range(n)):`` which
restores the stored values, runs the body's backward lines and carries ``dh_2 = dh_1`` to the
step before (tangent generates reversed loops with a stack the same way).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np
import sympy as sp

from derive.core.errors import DeriveError
from derive.core.naming import symbol
from derive.staging import rolled_inplace
from derive.core.numerics import ARRAY_NS, NAMESPACES, array_imports, python_imports


@dataclass(frozen=True)
class Loop:
    """One rolled loop: ``for var in range(start, stop):`` over forward lines first..last."""

    var: sp.Symbol
    start: int
    stop: int
    first: int               # forward line numbers of the body (inclusive)
    last: int
    carried: tuple           # ((entering Symbol, leaving Symbol), ...)
    taped: tuple             # ((Symbol, tape name), ...): stored each step for the backward pass
    zeroed: tuple            # adjoint Symbols set to zero before the backward loop
    lineno: int | None = None
    stacks: tuple = ()       # ((line, Symbol, tape name, list name), ...): np.stack after the loop of
    #                          the learner's list appended in it (h.append(next_h)): the tape is the
    #                          list, and each step's slice of the stack's adjoint goes back inside
    #                          the reversed loop

    def holds(self, bl) -> bool:
        """Is backward line ``bl`` in the reversed loop: the body's lines, and each step's slice
        of a list stacked after the loop (``dnext_h += dh[:, t]``)?"""
        return self.first <= bl.ref <= self.last or any(bl.ref == n and bl.var == v for n, v, *_ in self.stacks)

    @property
    def trips(self) -> int:
        return self.stop - self.start

    def header(self, backward=False) -> str:
        rng = f"range({self.stop})" if self.start == 0 else f"range({self.start}, {self.stop})"
        return f"for {self.var} in {'reversed(' + rng + ')' if backward else rng}:"

    def step(self) -> str:
        return str(self.var) if self.start == 0 else f"{self.var} - {self.start}"

    def to_dict(self) -> dict:
        return {"var": str(self.var), "range": [self.start, self.stop], "body": [self.first, self.last],
                "carried": [[str(a), str(b)] for a, b in self.carried],
                "taped": {name: str(s) for s, name in self.taped}, "line": self.lineno,
                "lists": {name: [n, str(v), shown] for n, v, name, shown in self.stacks}}


def build(g, prog, line_of, sym):
    """The loop blocks of ``prog`` (staged from ``g`` as one iteration of each loop); the
    backward lines that add into outer adjoints across steps become ``+=``."""
    loops, backward = [], list(prog.backward)
    taken = {s.name for s in prog.adjoints} | {a.name for a in prog.adjoints.values()} | \
        {ln.target.name for ln in prog.forward} | {s.name for s in prog.inputs}
    for lp in g.loops:
        numbers = [line_of[id(n)] for n in lp["body"] if id(n) in line_of]
        if not numbers:
            continue
        first, last = min(numbers), max(numbers)
        body_syms = {ln.target for ln in prog.forward[first - 1:last]}
        entries = {sym(n) for n in lp["entries"]}
        carried = tuple((sym(a), sym(b)) for a, b in lp["carried"] if id(b) in line_of)
        leaving = {b for _, b in carried}
        stacks = [(line_of[id(n)], sym(n.args[-1]), n.opt("steps")) for n in lp.get("stacks", ()) if id(n) in line_of]
        backward = _into_loop(backward, {(n, v) for n, v, _ in stacks}, first, last)
        inside = [k for k, bl in enumerate(backward) if first <= bl.ref <= last or (bl.ref, bl.var) in
                  {(n, v) for n, v, _ in stacks}]
        for ln in prog.forward[last:]:  # a value of one step read after the loop: only the last step's
            args = ln.args[:-1] if ln.number in {n for n, _, _ in stacks} else ln.args  # np.stack(h): every step's
            bad = [a for a in args if a in (body_syms - leaving) | entries]
            if bad:
                raise DeriveError(f"{bad[0]} is made inside the rolled loop at line {lp['lineno']} and read "
                                  f"after it: stage it unrolled (unroll=True)")
        written_before = {backward[k].target for k in range(inside[0])} if inside else set()
        fresh = body_syms - leaving | entries  # per-step adjoints (written anew each step)
        zeroed = []
        counter = symbol(lp["var"])
        for k in inside:
            bl = backward[k]
            if bl.var in fresh or bl.var == counter:  # the loop variable has no gradient
                continue
            if not bl.accumulate and bl.target not in written_before and bl.target not in zeroed:
                zeroed.append(bl.target)
            backward[k] = replace(bl, accumulate=True)
        zeroed += [prog.adjoints[b] for b in leaving if b in prog.adjoints
                   and prog.adjoints[b] not in written_before and prog.adjoints[b] not in zeroed]
        needed = set()
        for k in inside:
            needed |= _symbols(backward[k])
        taped, listed = [], []
        for n, v, list_name in stacks:  # the list a loop appends to is the tape of the value appended
            if v not in dict(taped):
                name = list_name if list_name not in taken else _tape_name(v, taken)
                taken.add(name)
                taped.append((v, name))
            listed.append((n, v, dict(taped)[v], list_name))
        for s in [e for e, _ in carried] + sorted(body_syms, key=lambda s: s.name):
            if s in needed and s not in dict(taped):
                name = _tape_name(s, taken)
                taken.add(name)
                taped.append((s, name))
        loops.append(Loop(symbol(lp["var"]), lp["start"], lp["stop"], first, last, carried, tuple(taped),
                          tuple(zeroed), lp["lineno"], tuple(listed)))
    backward = [bl for bl in backward if bl.var not in {lp.var for lp in loops}]  # the loop index: no gradient
    return loops, backward


def _tape_name(s, taken) -> str:
    base = re.sub(r"_\d+$", "", s.name) + "s"  # h_1 -> hs
    return base if base not in taken else s.name + "_tape"


def _into_loop(backward, keys, first, last):
    """Backward lines ``(ref, var) in keys`` (a stack after the loop: a step's slice of its adjoint)
    moved to the start of the loop's block; a later write before the loop that added to the same
    adjoint becomes its first write (a copy: the loop adds to it in place)."""
    moved = [bl for bl in backward if (bl.ref, bl.var) in keys]
    if not moved:
        return backward
    rest = [bl for bl in backward if (bl.ref, bl.var) not in keys]
    at = next((k for k, bl in enumerate(rest) if first <= bl.ref <= last or bl.ref < first), len(rest))
    for m in moved:
        if m.accumulate:
            continue
        k = next((k for k in range(at) if rest[k].target == m.target), None)
        if k is not None and rest[k].accumulate:
            rest[k] = replace(rest[k], accumulate=False, copy=True)
    return rest[:at] + moved + rest[at:]


def _symbols(bl) -> set:
    out = set()
    if bl.local is not None:
        out |= bl.local.free_symbols
    if bl.vjp is not None:  # only the arguments its template reads ({0}, {y}, the index's {1}...)
        t, sub = bl.vjp.template, bl.vjp.subscript
        every = "{sub" in t
        indexed = ("{index" in t or "{indices" in t) and sub  # the index arguments the subscript names
        out |= {a for i, a in enumerate(bl.vjp.args) if isinstance(a, sp.Symbol)
                and (every or re.search(r"\{%d[^}]*\}" % i, t) or indexed and re.search(r"\{%d[^}]*\}" % i, sub))}
        if re.search(r"\{y[^}]*\}", t):
            out.add(bl.vjp.out)
    return out


# ---- printing -------------------------------------------------------------------------------
def statements(prog, printer, comments=True, zeros="0.0"):
    """(forward, backward) statements of a program with rolled loops, loop bodies indented."""
    fwd, back = [], []
    note = (lambda text: f"  # {text}") if comments else (lambda text: "")
    loops = {lp.first: lp for lp in prog.loops}
    stacked = {n: (lp, v, name) for lp in prog.loops for n, v, name, _ in lp.stacks}
    k = 0
    lines = prog.forward
    inplace = {lp.first: rolled_inplace.writes(prog, lp) for lp in prog.loops} if prog.arrays else {}
    copies = {ln.args[0] for w in inplace.values() for ln in w.values()}
    while k < len(lines):
        ln = lines[k]
        lp = loops.get(ln.number)
        if ln.number in stacked:
            fwd.append(_stack_line(printer, ln, *stacked[ln.number]) + note(f"({ln.number})"))
            k += 1
            continue
        if lp is None:
            text = f"{ln.target} = {ln.args[0]}.copy()" if ln.target in copies and ln.op == "id" \
                else printer._print(ln)  # an array the loop writes into in place: its own copy
            fwd.append(text + note(f"({ln.number})"))
            k += 1
            continue
        lists = {name: shown for _, _, name, shown in lp.stacks}
        fwd += [f"{name} = []" + note(f"the list {lists[name]}: {s} at every step (the tape)") if name in lists else
                f"{name} = [None] * {lp.trips}" + note(f"the tape: {s} at every step, for the backward pass")
                for s, name in lp.taped]
        fwd.append(lp.header() + note(f"line {lp.lineno}"))
        for body_ln in lines[lp.first - 1:lp.last]:
            if body_ln.number in inplace.get(lp.first, ()):
                fwd += ["    " + t for t in rolled_inplace.forward(printer, body_ln, note)]
                continue
            fwd.append("    " + printer._print(body_ln) + note(f"({body_ln.number})"))
        fwd += [f"    {name}.append({s})" + note("appended") if name in lists else
                f"    {name}[{lp.step()}] = {s}" + note("stored") for s, name in lp.taped]
        fwd += [f"    {a} = {b}" + note("carried to the next step") for a, b in lp.carried]
        k = lp.last
    ordered = list(prog.backward)
    k = 0
    while k < len(ordered):
        bl = ordered[k]
        lp = next((lp for lp in prog.loops if lp.holds(bl)), None)
        if lp is None:
            back.append(_back(printer, bl, note))
            k += 1
            continue
        back += [f"{a} = {zeros.format(a=a, v=_var_of(prog, a))}" + note("gradients of every step add here")
                 for a in lp.zeroed]
        writes = inplace.get(lp.first, {})
        back += [f"{d} = {d}.copy()" + note("the loop zeroes its slices in place") for d in
                 dict.fromkeys(prog.adjoints[w.target] for w in writes.values()) if d not in lp.zeroed]
        back.append(lp.header(backward=True))
        lists = {name for _, _, name, _ in lp.stacks}
        needed = set().union(*[_symbols(b) for b in ordered if lp.holds(b)])
        back += [f"    {s} = {name}[{lp.step()}]" + note("restored") for s, name in lp.taped
                 if name not in lists or s in needed]  # a list's value only where a line reads it
        while k < len(ordered) and lp.holds(ordered[k]):
            bl = ordered[k]
            k += 1
            if bl.local is None and bl.vjp is None and bl.target in lp.zeroed:
                continue  # the zeros a scatter adds into: made once, before the loop
            if bl.ref in writes:  # h_1[:, t, :] = next_h: its two lines, in place
                same = [bl]
                while k < len(ordered) and ordered[k].ref == bl.ref:
                    same.append(ordered[k])
                    k += 1
                back += ["    " + t for t in rolled_inplace.backward(
                    printer, prog, writes[bl.ref], same, lambda b: _back(printer, b, note))]
                continue
            back.append("    " + _back(printer, bl, note))
        written = {b.target for b in ordered if lp.holds(b)}
        into = {}  # leaving value's adjoint -> the entering values' adjoints (two names may carry one value)
        for a, b in lp.carried:
            da, db = prog.adjoints.get(a), prog.adjoints.get(b)
            if db is not None:
                into.setdefault(db, []).append((da, b))
        for db, pairs in into.items():
            terms = [str(da) for da, _ in pairs if da in written]
            rhs = " + ".join(terms) if terms else zeros.format(a=db, v=pairs[0][1])
            back.append(f"    {db} = {rhs}" + note("carried to the step before"))
    return fwd, back


def _stack_line(printer, ln, lp, v, tape):
    """``h_1 = np.stack([h0, *h], axis=1)``: the list a rolled loop appended to, stacked after it."""
    pre = [str(a) for a in ln.args[:-1]]  # names (a reader may mark what the printer prints)
    listed = f"[{', '.join(pre)}, *{tape}]" if pre else tape
    axis = ln.rhs.axis
    return f"{ln.target} = np.stack({listed}{f', axis={axis}' if axis else ''})"


def _var_of(prog, adj):
    return next((v for v, a in prog.adjoints.items() if a == adj), adj)


def _back(printer, bl, note):
    extra = f" {bl.var} is used {bl.uses} times: gradients add" if bl.accumulate and bl.uses > 1 else ""
    return printer._print(bl) + note(f"({bl.ref}){extra}")


def text(prog, printer, result=None) -> str:
    """The listing, loops rolled; with a run's result, the value, the gradient and the notes."""
    args = ", ".join(p for p, _ in prog.params)
    fwd, back = statements(prog, printer, zeros=_zeros(prog))
    out = [f"{prog.output}({args})", "", "forward pass"] + ["  " + s for s in fwd] + ["", "backward pass"] + \
        ["  " + s for s in back]
    if result is not None:
        out += ["", "value", f"  {prog.output} = {result.value}", "", "gradient"]
        out += [f"  d{prog.output}/d{k} = {v}" for k, v in result.grad.items()]
        out += [f"note: {n}" for n in result.notes]
    return "\n".join(out)


def _zeros(prog):
    return "np.zeros_like({v})" if prog.arrays else "0.0"


def python(prog, printer, name) -> str:
    """A runnable module: imports and ``name(...)`` returning (value, gradient), loops rolled."""
    fwd, back = statements(prog, printer, zeros=_zeros(prog))
    inits = [f"{a} = {_zeros(prog).format(v=p)}" for p, a in prog.grads.items()
             if a not in {bl.target for bl in prog.backward} and all(a not in lp.zeroed for lp in prog.loops)]
    grads = ", ".join(f"{p!r}: {a}" for p, a in prog.grads.items())
    body = ["# forward pass"] + fwd + ["# backward pass"] + back + inits
    params = [p for p, _ in prog.params] + ([str(prog.upstream)] if getattr(prog, "upstream", None) else [])
    src = f"def {name}({', '.join(params)}):\n" + "".join(f"    {s}\n" for s in body)
    src += f"    return {prog.output}, {{{grads}}}\n"
    imports = ["import numpy as np", f"from derive.core.primitives import {', '.join(array_imports())}"] \
        if prog.arrays else python_imports()
    return "\n".join(imports + ["", "", src])


def compiled(prog, printer):
    """The printed module compiled once: ``(fn, forward names, adjoint names, tape names)``;
    ``fn(*params[, upstream])`` returns (forward values, adjoints, tapes)."""
    if "rolled" not in prog._compiled:
        fwd, back = statements(prog, printer, comments=False, zeros=_zeros(prog))
        forward_names = [ln.target.name for ln in prog.forward]
        tapes = [name for lp in prog.loops for _, name in lp.taped]
        inits = [f"{a} = {_zeros(prog).format(v=p)}" for p, a in prog.grads.items()
                 if a not in {bl.target for bl in prog.backward} and all(a not in lp.zeroed for lp in prog.loops)]
        adj = list(dict.fromkeys([bl.target.name for bl in prog.backward] + [a.name for a in prog.grads.values()]))
        body = fwd + [f"_tapes = [list(t) for t in ({', '.join(tapes)},)]" if tapes else "_tapes = []"] + back + inits
        ret = f"({', '.join(forward_names)},), ({', '.join(adj)},), _tapes"
        params = [p for p, _ in prog.params] + ([str(prog.upstream)] if prog.upstream is not None else [])
        src = "def _derive_rolled(" + ", ".join(params) + "):\n" + \
            "".join(f"    {s}\n" for s in body) + f"    return {ret}\n"
        ns = dict(ARRAY_NS if prog.arrays else NAMESPACES["math"])
        exec(compile(src, "<derive rolled program>", "exec"), ns)  # derive's own generated code
        prog._compiled["rolled"] = (ns["_derive_rolled"], forward_names, adj, tapes)
    return prog._compiled["rolled"]


def flat(prog, printer):
    """As ``array_program.compiled`` for straight-line programs: ``(fn, forward names, adjoint
    names)`` with ``fn`` returning the forward values then the adjoints, in one tuple."""
    fn, names, adj, _ = compiled(prog, printer)

    def run_flat(*args):
        fvals, avals, _ = fn(*args)
        return fvals + avals
    return run_flat, names, adj


def run(prog, printer, values, convert=float, upstream=None):
    """Evaluate at a point by the printed module (compiled once): a Result whose ``values`` hold
    each forward name's last value and the tapes (one value per step)."""
    from derive.staging.evaluate import Result, _point  # evaluate does not import this module

    compiled(prog, printer)
    fn, names, adj, tapes = prog._compiled["rolled"]
    if prog.arrays:
        args = [np.asarray(values[p], dtype=None if p in prog.labels else float) for p in prog.param_names]
        if prog.upstream is not None:
            if upstream is None:
                raise DeriveError(f"the function returns an array: give its upstream gradient {prog.upstream} "
                                  f"(run(..., upstream=array))")
            args.append(np.asarray(upstream, dtype=float))
    else:
        args = _point(prog, values, convert)
    try:
        with np.errstate(all="raise"):
            fvals, avals, tvals = fn(*args)
    except (ArithmeticError, ValueError, FloatingPointError) as err:
        raise DeriveError(f"running the rolled program at this point failed: {err}") from None
    vals = dict(zip(names, fvals))
    vals.update(zip(tapes, tvals))
    adjs = dict(zip(adj, avals))
    grad = {p: adjs[a.name] for p, a in prog.grads.items()}
    return Result(vals[prog.output.name], grad, vals, adjs, dict(values), notes=prog.notes)
