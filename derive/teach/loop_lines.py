"""The lines test of a loop exercise: the learner's backward loop compared with derive's, step by step.

Inputs: the history the recorder took of the learner's ``backward`` (every statement's values,
in the sandbox) and the reference's (``derive.teach.loop_reference``). Each history is cut into
the iterations of one loop; the learner's variables are matched to the reference's adjoints by
name (``dWh`` is ``dWh``), else by value at the first step (``da`` holding derive's ``dt1pb``);
steps are matched by the loop variable's value (``reversed(range(T))`` and ``range(T-1, -1, -1)``
alike), else by order. A per-step value is compared at the end of its step; an accumulator
(``dW += ...``) as its partial sum, or as the step's term when the learner's loop runs in
another order. The first disagreeing value in the learner's execution order names the line
and the step. Values are graded, never text: a loop that cannot be matched falls back to the
returned gradients with a note, and a right answer is never told that a line is wrong.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np

from derive.teach import loop_reference
from derive.teach.grading import recorder


@dataclass
class Outcome:
    """The lines test: its fraction, its message, whether a wrong line was named, labels."""

    fraction: float
    message: str
    wrong: bool = False
    labels: tuple = ()


def iterations(entries, loop):
    """(iterations, values before the loop) of the first run of ``loop`` in a history; an
    iteration is {"t": loop variable or None, "values": {name: value at the step's end},
    "line": {name: line of its last assignment}, "order": [names in order of last assignment]}."""
    header, last, names = loop
    iters, before, cur, done = [], {}, None, False
    for line, name, value in entries:
        if line == header and not done:
            if cur is None or cur["values"] or name in cur["head"]:
                cur = {"head": {}, "values": {}, "line": {}, "order": []}
                iters.append(cur)
            cur["head"][name] = value
        elif header < line <= last and cur is not None:
            cur["values"][name] = value
            cur["line"][name] = line
            if name in cur["order"]:
                cur["order"].remove(name)
            cur["order"].append(name)
        elif not iters:
            before[name] = value
        elif cur is not None:
            done, cur = True, None
    while iters and not iters[-1]["values"]:
        iters.pop()
    for it in iters:
        t = _arr(it["head"].get(names[0])) if names else None
        it["t"] = float(t) if t is not None and t.ndim == 0 else None
    return iters, before


def _arr(v):
    """Recorded data (a number, nested lists, {"array": ...}) as a float array; None if not numbers."""
    if isinstance(v, np.ndarray):
        return v
    if isinstance(v, dict):
        v = v.get("array")
    try:
        return None if v is None else np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        return None


def _term(iters, before, k, name):
    """What step k added to ``name`` (its value minus the value after the step before)."""
    now = _arr(iters[k]["values"].get(name))
    prev = next((it["values"][name] for it in reversed(iters[:k]) if name in it["values"]), before.get(name))
    prev = _arr(prev)
    if now is None:
        return None
    return now if prev is None or prev.shape != now.shape else now - prev


class Side:
    """One history per point, cut into the iterations of one loop."""

    def __init__(self, histories, loop):
        cut = [iterations(h, loop) for h in histories]
        self.iters = [c[0] for c in cut]
        self.before = [c[1] for c in cut]
        self.loop = loop
        self.steps = min(len(i) for i in self.iters) if self.iters else 0

    def ts(self, i):
        return [it["t"] for it in self.iters[i]]

    def value(self, i, k, name, term):
        if term:
            return _term(self.iters[i], self.before[i], k, name)
        return self.iters[i][k]["values"].get(name)


def align(mine: Side, ref: Side, by_value: bool):
    """[ref step for each of my steps], or None; by the loop variable's value or by order."""
    n = min(mine.steps, ref.steps)
    if not by_value:
        return list(range(n)) if n else None
    out = None
    for i in range(len(mine.iters)):
        a, b = mine.ts(i), ref.ts(i)
        if None in a or None in b or sorted(a) != sorted(b) or len(set(b)) != len(b):
            return None
        here = [b.index(t) for t in a]
        if out is not None and here != out:
            return None
        out = here
    return out


class Comparison:
    """My loop against a reference loop under one alignment: pairs, matches, the first wrong value."""

    def __init__(self, mine: Side, ref: Side, order, pairs, accumulators, ok):
        self.mine, self.ref, self.order, self.pairs, self.ok = mine, ref, order, pairs, ok
        self.term = order != sorted(order)  # another order: an accumulator's terms, not its sums
        self.accumulators = accumulators

    def agree(self, k, name, ref_name, points=None, term=None):
        """(True/False/None if not comparable, first disagreeing point)."""
        term = self.term and ref_name in self.accumulators if term is None else term
        for i in points if points is not None else range(len(self.mine.iters)):
            got = _arr(self.mine.value(i, k, name, term))
            exp = _arr(self.ref.value(i, self.order[k], ref_name, term))
            if got is None or exp is None:
                return None, i
            if not self.ok(got, exp):
                return False, i
        return True, None

    def score(self):
        """(checked, right, first wrong as (k, position, name, ref name, point) or None)."""
        checked, right, first = 0, 0, None
        for name, ref_name in self.pairs.items():
            for k in range(len(self.order)):
                good, i = self.agree(k, name, ref_name)
                if good is None:
                    continue
                checked += 1
                right += good
                if not good:
                    pos = self.mine.iters[i][k]["order"].index(name)
                    if first is None or (k, pos) < first[:2]:
                        first = (k, pos, name, ref_name, i)
        return checked, right, first


def pair(mine: Side, ref: Side, order, checkpoints, accumulators, ok, given=()) -> dict:
    """{my name: reference adjoint}: same names first, then by value from the first step on
    (never a name the template gives: a forward value is no gradient)."""
    names = list(dict.fromkeys(n for it in mine.iters[0] for n in it["order"])) if mine.iters else []
    pairs = {a: a for a in checkpoints if a in names}
    free = [n for n in names if n not in checkpoints and n not in given]
    probe = Comparison(mine, ref, order, {}, accumulators, ok)
    for a in checkpoints:
        if a in pairs.values():
            continue
        best, run = None, 0
        for n in free:
            k = 0
            while k < len(order) and probe.agree(k, n, a)[0]:
                k += 1
            if k > run:
                best, run = n, k
        if best is not None:
            pairs[best] = a
            free.remove(best)
    return pairs


def best(mine_hist, my_loops, ref: Side, checkpoints, accumulators, ok, given=()):
    """The learner's loop and alignment that match the reference best (a Comparison or None)."""
    found, key = None, None
    for loop in my_loops:
        mine = Side(mine_hist, loop)
        if not mine.steps:
            continue
        for by_value in (True, False):
            order = align(mine, ref, by_value)
            if not order:
                continue
            pairs = pair(mine, ref, order, checkpoints, accumulators, ok, given)
            cmp = Comparison(mine, ref, order, pairs, accumulators, ok)
            checked, right, _ = cmp.score()
            rank = (right, len(pairs), by_value)
            if pairs and (key is None or rank > key):
                found, key = cmp, rank
    return found


def step_text(cmp: Comparison, k, i) -> str:
    it = cmp.mine.iters[i][k]
    var = cmp.mine.loop[2][0] if cmp.mine.loop[2] else None
    n = len(cmp.order)
    ordinal = f"iteration {k + 1} of {n}"
    if var is not None and it["t"] is not None:
        t = it["t"]
        return f"step {var} = {int(t) if float(t).is_integer() else t} ({ordinal})"
    return ordinal


_OPS = {ast.Add: "+=", ast.Sub: "-=", ast.Mult: "*=", ast.Div: "/=", ast.MatMult: "@="}


def statement(source_lines, line, name) -> str:
    """``dWh +=`` or ``dx[:, t, :] =`` from the learner's line (parsed, for the message)."""
    text = source_lines[line - 1].strip() if 0 < line <= len(source_lines) else ""
    try:
        node = recorder.parse(text).body[0]
    except (SyntaxError, IndexError, ValueError, RecursionError, MemoryError):
        return f"{name} ="
    if isinstance(node, ast.AugAssign):
        head, op = ast.unparse(node.target), _OPS.get(type(node.op), "=")
    elif isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        head, op = ", ".join(ast.unparse(t) for t in targets), "="
    else:
        head, op = name, "="
    return f"{head} {op}" if len(head) <= 40 else f"{name} {op}"


def _traces(src, ref, args, outputs):
    traces = [loop_reference.trace(src, ref.index, a, outputs) for a in args]
    return None if any(t is None for t in traces) else traces


def _explains(mine: Side, traces, first, pairs, accumulators, ok):
    """How many of my paired step values a variant's traces reproduce, if it reproduces my first
    wrong one (else None)."""
    side = Side([t.entries for t in traces], traces[0].loop)
    k, _, name, ref_name, _ = first
    order = align(mine, side, True) or align(mine, side, False)
    if not order or k >= len(order):
        return None
    probe = Comparison(mine, side, order, {}, accumulators, ok)

    def agrees(step, my_name, theirs):
        return any(probe.agree(step, my_name, theirs, term=term)[0] for term in (False, True))

    if not agrees(k, name, ref_name):
        return None
    return sum(agrees(j, n, a) for n, a in pairs.items() for j in range(len(order)))


def variant_labels(ex, args, cmp, first, ref, ok, wrong_outs, outs, hists=()):
    """Labels of the edited references that reproduce the learner's first wrong value at every
    point, the ones agreeing with most of the learner's steps (or, without a first wrong value,
    every wrong returned gradient). A variant is run at the other points only if it reproduces
    the value at the point where it is wrong."""
    found = []
    for label, src in ref.variants:
        if first is None:
            traces = _traces(src, ref, args, ex.outputs)
            if traces and wrong_outs and all(
                    _arr(t.outputs.get(n)) is not None and ok(o.get(n), _arr(t.outputs[n]))
                    for n in wrong_outs for o, t in zip(outs, traces) if o is not None):
                found.append((0, label))
            continue
        i = first[4]
        one = _traces(src, ref, args[i:i + 1], ex.outputs)
        here = (first[0], first[1], first[2], first[3], 0)
        if one is None or _explains(Side([hists[i]], cmp.mine.loop), one, here, {}, ref.accumulators, ok) is None:
            continue
        traces = _traces(src, ref, args, ex.outputs)
        score = traces and _explains(cmp.mine, traces, first, cmp.pairs, ref.accumulators, ok)
        if score is not None and score is not False:
            found.append((score, label))
    top = max((score for score, _ in found), default=0)
    return list(dict.fromkeys(label for score, label in found if score == top))


def grade(ex, points, keys, calls, outs, source, ok, show, at) -> Outcome | None:
    """The lines test of a loop exercise, or None if the exercise has no backward loop."""
    ref = ex.loop_reference
    if ref is None:
        return None
    right_outs = [n for n in ex.outputs if all(o is not None and ok(o.get(n), k.outputs[n])
                                               for o, k in zip(outs, keys))]
    wrong_outs = [n for n in ex.outputs if n not in right_outs]
    try:
        return _compare(ex, ref, points, calls, outs, source, ok, show, at, right_outs, wrong_outs)
    except (ArithmeticError, ValueError, TypeError, IndexError, KeyError) as err:  # values of any shape
        return Outcome(len(right_outs) / len(ex.outputs),
                       f"backward loop: not compared step by step ({type(err).__name__}); the returned "
                       f"gradients are graded ({len(right_outs)} of {len(ex.outputs)} right)")


def _compare(ex, ref, points, calls, outs, source, ok, show, at, right_outs, wrong_outs) -> Outcome:
    prog = ex.loop_program(points[0])
    args = [ex.reference_args(prog, p) for p in points]
    traces = [loop_reference.trace(ref.source, ref.index, a, ex.outputs) for a in args]
    steps = recorder.plan(source or "", "backward") or recorder.plan(source or "", None)  # check(fn): fn alone
    hists = [c.get("history", {}).get("entries") for c in calls]
    fallback = f"the returned gradients are graded ({len(right_outs)} of {len(ex.outputs)} right)"
    asked = ", ".join([a for a in ref.checkpoints if a in ref.required][:4] or ref.checkpoints[:4])
    if any(t is None for t in traces) or steps is None or any(h is None for h in hists) or not steps["loops"]:
        why = "your backward pass has no loop to compare" if steps is not None and not steps["loops"] \
            else "your loop's steps were not recorded"
        return Outcome(len(right_outs) / len(ex.outputs), f"backward loop: {why}; {fallback}")
    ref_side = Side([t.entries for t in traces], ref.loop)
    cmp = best(hists, steps["loops"], ref_side, ref.checkpoints, ref.accumulators, ok,
               ex.template_names | set(ex.params))
    truncated = any(c.get("history", {}).get("truncated") for c in calls)
    note = " (the recording reached its cap: later statements were not recorded)" if truncated else ""
    if cmp is None and not wrong_outs:
        return Outcome(1.0, f"backward loop: your gradients are right; none of your loops holds derive's "
                            f"per-step {asked}, so it was not compared step by step")
    if cmp is None:
        labels = () if not wrong_outs else tuple(variant_labels(ex, args, None, None, ref, ok, wrong_outs, outs))
        why = ("your loop's steps were not recorded" if not any(hists) else
               f"none of your loops holds derive's per-step {asked} at its first step, so the steps "
               f"were not compared one by one{note}")
        return Outcome(len(right_outs) / len(ex.outputs), f"backward loop: {why}; {fallback}", labels=labels)
    checked, right, first = cmp.score()
    named = [n if n == a else f"{n} (= {a})" for n, a in cmp.pairs.items()]
    n = len(cmp.order)
    summary = f"{right} of {checked} per-step values right ({', '.join(named)}; {n} step{'s' * (n != 1)}){note}"
    if not wrong_outs:
        if first is None:
            return Outcome(1.0, "backward loop: " + summary)
        _, _, name, ref_name, _ = first
        return Outcome(1.0, f"backward loop: your gradients are right; your {name} holds other values "
                            f"than derive's {ref_name} at some steps (a different quantity: not graded)")
    if first is None:
        return Outcome(len(right_outs) / len(ex.outputs),
                       f"backward loop: {summary}, but the returned gradients are not; {fallback}")
    k, _, name, ref_name, i = first
    it = cmp.mine.iters[i][k]
    term = cmp.term and ref_name in ref.accumulators
    got = cmp.mine.value(i, k, name, term)
    exp = cmp.ref.value(i, cmp.order[k], ref_name, term)
    what = (" (this step's term)" if term else " (the sum over the steps so far)") \
        if ref_name in ref.accumulators else ""
    also = f" (derive's {ref_name})" if name != ref_name else ""
    line = it["line"][name]
    where = at(points[i], i)
    where = where if len(where) <= 100 else f"point {i + 1}"
    msg = (f"backward loop: {summary}; first wrong line: line {line} "
           f"({statement((source or '').splitlines(), line, name)}) at {step_text(cmp, k, i)}, "
           f"{where}: {name}{also}{what} is {show(got)} but should be {show(exp)}")
    labels = variant_labels(ex, args, cmp, first, ref, ok, wrong_outs, outs, hists)
    return Outcome(right / checked if checked else 0.0, msg, True, tuple(labels))
