"""Sheets of rolled loops: a short loop's sheet is that of the program unrolled, a long one is refused.

A sheet lists every forward and backward line with its number at the point, and draws the circuit
with a value on every wire: a loop of at most ``DRAW_TRIPS`` steps is printed unrolled (one copy of
its body per step, each line with its own numbers; the sheet's notes say so). A longer loop would
fill pages with the same lines: it is refused in one line naming the bound and ``--unroll``.
"""
from __future__ import annotations

from derive.core.errors import DeriveError
from derive.staging.restage import DRAW_TRIPS, describe, trips


def sheet_program(prog):
    """The program a sheet prints: ``prog`` itself, or its short rolled loops unrolled."""
    if not prog.loops:
        return prog
    if trips(prog) > DRAW_TRIPS:
        raise DeriveError(f"a sheet prints every step of a loop, and sheets unroll loops of at most {DRAW_TRIPS} "
                          f"steps; {describe(prog)} is longer: stage it with unroll=True (derive sheet "
                          f"--unroll) for a sheet of every step, or print the rolled loop with --format latex")
    return prog.unrolled("a sheet", DRAW_TRIPS)
