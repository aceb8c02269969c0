"""The reference backward loop step by step: derive's rolled program run under the recorder, and its known-wrong variants.

The rolled program of a loop exercise prints as a Python function whose backward pass is a
``for t in reversed(range(T)):`` loop (``Program.to_python``). That printed function (derive's
own generated code, never the learner's) runs here under ``derive.teach.grading.recorder``, the
same recorder the grading child runs the learner's ``backward`` under, so both histories have
one form: the value of every adjoint after each step of the loop. Known mistakes are made by
editing the printed reference, as ``derive.teach.misconceptions`` edits straight-line programs:

- ``loop-overwrite``: one (or every) weight gradient's ``dW += ...`` written ``dW = ...``;
- ``loop-order``: the backward loop run forwards, ``for t in range(T)``;
- ``loop-carry``: the gradient carried to the step before replaced by its starting value.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from derive.core.numerics import ARRAY_NS
from derive.teach.grading import recorder
from derive.teach.grading.sandbox_child import plain

REF = "_derive_reference"
MAX_VARIANTS = 12


@dataclass
class Trace:
    """One run of a reference (or a variant): its outputs and its backward loop's history."""

    outputs: dict                    # {"dw": value as plain data}
    entries: list                    # the recorder's history entries
    loop: list                       # [header line, last body line, [loop variables]]


@dataclass
class Reference:
    """What the grader knows about an exercise's backward loop (same at every point)."""

    source: str
    loop: list
    index: int                       # the loop's place among the printed function's loops
    checkpoints: list                # adjoint names written (not merely copied) in the loop body
    required: set                    # of those, the ones the learner is asked for (outputs, own names)
    accumulators: set                # summed over the steps: dW += ...
    variants: list = field(default_factory=list)   # [(label, edited source)]


def reference(prog, outputs, user_names) -> Reference | None:
    """The backward loop of a rolled ``prog`` (None without one)."""
    if not prog.loops:
        return None
    src = prog.to_python(REF)
    steps = recorder.plan(src, REF)
    lines = src.splitlines()
    loops = [k for k, lp in enumerate(steps["loops"]) if "reversed(" in lines[lp[0] - 1]]
    if not loops:
        return None
    loop = steps["loops"][loops[0]]
    adjoints = {a.name for a in prog.adjoints.values()} | {a.name for a in prog.grads.values()}
    body = _body(src, loop)
    copies = {n.targets[0].id for _, n in body if _is_copy(n, adjoints)}
    written = [t for _, n in body if not _is_copy(n, adjoints) for t in steps["targets"].get(n.lineno, [])
               if t in adjoints]
    checkpoints = list(dict.fromkeys(written))
    carried = {prog.adjoints[b].name for lp in prog.loops for _, b in lp.carried if b in prog.adjoints}
    zeroed = {a.name for lp in prog.loops for a in lp.zeroed}
    accumulators = {a for a in checkpoints if a in zeroed and a not in copies | carried}
    required = {a for a in checkpoints if a in outputs or a[1:] in user_names}
    ref = Reference(src, loop, loops[0], checkpoints, required, accumulators)
    ref.variants = _variants(src, loop, body, accumulators, carried)
    return ref


def _body(src, loop):
    """[(line, statement)] of the loop's body, in order."""
    tree = recorder.parse(src)
    header, last = loop[0], loop[1]
    return sorted(((n.lineno, n) for n in ast.walk(tree) if isinstance(n, ast.stmt)
                   and header < n.lineno <= last), key=lambda x: x[0])


def _is_copy(node, adjoints) -> bool:
    """``da = db``: a name given another adjoint's value (carried to the step before, or a pass-through)."""
    return (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Name) and node.value.id in adjoints)


def _variants(src, loop, body, accumulators, carried) -> list:
    lines = src.splitlines()
    out = []
    header = loop[0] - 1
    forward = re.sub(r"reversed\((range\(.*\))\):", r"\1:", lines[header])
    if forward != lines[header]:
        out.append(("loop-order", _edit(lines, {header: forward})))
    adds = {ln - 1: node.target.id for ln, node in body if isinstance(node, ast.AugAssign)
            and isinstance(node.op, ast.Add) and isinstance(node.target, ast.Name) and node.target.id in accumulators}
    overwrite = {k: lines[k].replace(f"{a} +=", f"{a} =", 1) for k, a in adds.items()}
    for k in overwrite:
        out.append(("loop-overwrite", _edit(lines, {k: overwrite[k]})))
    if len(overwrite) > 1:
        out.append(("loop-overwrite", _edit(lines, overwrite)))
    resets = {ln - 1: node.targets[0].id for ln, node in body
              if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
              and node.targets[0].id in carried and isinstance(node.value, ast.Name)}
    if resets:
        indent = lines[header][:len(lines[header]) - len(lines[header].lstrip())]
        keep = {header: "".join(f"{indent}_start_{a} = np.copy({a})\n" for a in resets.values()) + lines[header]}
        for k, a in resets.items():
            keep[k] = lines[k][:len(lines[k]) - len(lines[k].lstrip())] + f"{a} = np.copy(_start_{a})"
        out.append(("loop-carry", _edit(lines, keep)))
    return out[:MAX_VARIANTS]


def _edit(lines, changes) -> str:
    return "\n".join(changes.get(k, ln) for k, ln in enumerate(lines)) + "\n"


@lru_cache(maxsize=64)
def _compiled(src):
    ns = dict(ARRAY_NS)
    exec(compile(src, "<derive reference loop>", "exec"), ns)  # derive's own printed program, edited
    return ns[REF], recorder.plan(src, REF)


def _copy(v, depth=0, budget=None):
    """A number or array as a float array copy (the reference's values stay NumPy: no lists)."""
    try:
        arr = np.array(v, dtype=float)
    except (TypeError, ValueError):
        return {"type": type(v).__name__}
    if budget is not None:
        budget[0] -= arr.size
    return arr


def trace(src, index, args, outputs) -> Trace | None:
    """Run the printed reference ``src`` (or a variant) at ``args`` under the recorder; its
    ``index``-th loop is the backward loop (None if the run fails)."""
    fn, steps = _compiled(src)
    try:
        with np.errstate(all="ignore"):
            (_, grads), _, history = recorder.call_recorded(fn, args, steps, _copy, 10**6, 10**8)
    except (ArithmeticError, ValueError, TypeError, IndexError):
        return None
    outs = {o: plain(grads[o[1:]]) for o in outputs if o[1:] in grads}
    return Trace(outs, history["entries"], steps["loops"][index])
