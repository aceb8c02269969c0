"""Arrays written one slice per step of a rolled loop (``h[:, t, :] = next_h``), done in place.

Course code fills an array over time (CS231n's ``rnn_forward``: ``h = np.zeros((N, T, H))``, then
``h[:, t, :] = next_h`` in the loop). derive stages the write as a new array, ``h_2 = setitem(h_1,
(:, t, :), next_h)``, and its backward as ``dh_1 = setitem(dh_2, (:, t, :), 0)``: a copy of the
whole array at every step, so a rolled loop would cost the square of its trip count. When the
array entering the step (``h_1``) is read by nothing else in the body and no step's value of it is
stored, the printed loop writes in place instead, as the learner did: ``h_1[:, t, :] = next_h``
forward, and backward the slice's gradient is taken first, then zeroed in place
(``dnext_h = dh_2[:, t, :].copy()``, ``dh_2[:, t, :] = 0``). The arrays are copied once before
each loop, so the caller's arrays (the upstream gradient) are never changed.
"""
from __future__ import annotations

from dataclasses import replace


def writes(prog, lp) -> dict:
    """Forward line number -> line, of the body's ``L = setitem(E, idx, v)`` that may run in place:
    ``E`` enters the step and ``L`` leaves it, nothing else in the body reads ``E``, neither is taped."""
    entering = {b: a for a, b in lp.carried}
    body = prog.forward[lp.first - 1:lp.last]
    taped = {s for s, _ in lp.taped}
    out = {}
    for ln in body:
        e = ln.args[0] if ln.op == "setitem" else None
        if e is not None and entering.get(ln.target) == e and not {e, ln.target} & taped \
                and sum(a == e for other in body for a in other.args) == 1:
            out[ln.number] = ln
    return out


def entry_copies(prog, loops) -> set:
    """The arrays entering a step that a loop writes into in place (copied once before it)."""
    return {ln.args[0] for lp in loops for ln in writes(prog, lp).values()}


def forward(printer, ln, note) -> list:
    """``h_1[:, t, :] = next_h`` then ``h_2 = h_1``: the step's write, in place."""
    args = [str(a) for a in ln.args]  # names and integers (a reader may mark what the printer prints)
    index = ln.rhs.subscript.format(*args)
    return [f"{args[0]}[{index}] = {args[1]}" + note(f"({ln.number}) in place"), f"{ln.target} = {args[0]}"]


def backward(printer, prog, ln, lines, show) -> list:
    """The write's two backward lines in place: the value's slice first (a copy), then the slice
    of the array's gradient zeroed (it was overwritten) and passed on to the array entering the step."""
    entering, value = ln.args[0], ln.args[1]
    d_out = prog.adjoints[ln.target]
    out = []
    for bl in lines:
        if bl.var == value:  # a slice of d_out, which is zeroed in place next: a copy
            out.append(show(bl if bl.accumulate else replace(bl, copy=True)))
    index = ln.rhs.subscript.format(*[str(a) for a in ln.args])
    out.append(f"{d_out}[{index}] = 0")
    if any(bl.var == entering for bl in lines):
        out.append(f"{prog.adjoints[entering]} = {d_out}")
    return out
