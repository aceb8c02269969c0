"""A rolled program staged again unrolled, for the readers that draw or differentiate every step.

Staging keeps how it was called (``Restage``: the stager and its arguments, with ``unroll=True``)
on a program with rolled loops, so that circuits, sheets and ``sympy.diff`` in ``check`` can ask
for the same function unrolled (``unrolled(prog)``) when its loops are short: at most
``DRAW_TRIPS`` steps for a drawing, ``SYMBOLIC_TRIPS`` for one SymPy expression. The unrolled
program is staged once per program; its runs say, in their notes, that it is the unrolled one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from derive.core.errors import DeriveError

DRAW_TRIPS = 4        # circuits and sheets draw a loop of at most this many steps unrolled
SYMBOLIC_TRIPS = 25   # expr() (and so check's sympy.diff) reads a loop this short unrolled


@dataclass(frozen=True)
class Restage:
    """How a rolled program was staged: ``stager(*args, **kwargs)`` stages it unrolled."""

    stager: object
    args: tuple
    kwargs: dict = field(default_factory=dict)

    def __call__(self):
        return self.stager(*self.args, **self.kwargs)


def keep(prog, stager, *args, **kwargs):
    """Record on ``prog`` (if it has rolled loops) how to stage it unrolled; returns ``prog``."""
    if prog.loops:
        prog._base.restage = Restage(stager, args, kwargs)
    return prog


def trips(prog) -> int:
    """The longest trip count of the program's rolled loops (0 without loops)."""
    return max((lp.trips for lp in prog.loops), default=0)


def describe(prog) -> str:
    """``the rolled loop at line 3 (3 steps)``, naming each loop."""
    parts = [f"line {lp.lineno} ({lp.trips} step{'s' * (lp.trips != 1)})" for lp in prog.loops]
    return ("the rolled loop at " if len(parts) == 1 else "the rolled loops at ") + ", ".join(parts)


def unrolled(prog, what: str, limit: int):
    """``prog`` staged again with its loops unrolled (once per program), for ``what`` (a reader
    that reads every step); one line saying to unroll if a loop is longer than ``limit`` or the
    program does not know how it was staged."""
    base = prog._base
    n = trips(prog)
    recipe = getattr(base, "restage", None)
    if n > limit or recipe is None:
        why = (f"its loop runs {n} steps (more than {limit})" if n > limit
               else "this program was not staged by derive.stage")
        raise DeriveError(f"{what} reads {describe(prog)} unrolled, but {why}: stage it with "
                          f"unroll=True (--unroll) for {what}")
    cached = getattr(base, "_unrolled", None)
    if cached is None:
        cached = recipe()
        cached.unrolled_note = f"{describe(prog)} is unrolled here, one copy of its body per step"
        base._unrolled = cached
    if prog.arrays and prog.shapes is not None:
        return cached.with_shapes({p: prog.shapes[p] for p in prog.param_names})
    return cached
