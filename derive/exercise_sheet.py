"""An exercise's forward function and point for ``derive sheet --exercise NAME|DIR [--student ID]``."""
from __future__ import annotations

import numpy as np

from derive.errors import DeriveError


def exercise_target(name, student=None, seed=0, at=None):
    """(program, point): the example point, ``at``, or the first point graded for ``student``."""
    from derive.exercises import get

    ex = get(name)
    if ex.spec.per_output:
        raise DeriveError(f"{ex.name} has one expression per output, not one forward function; "
                          f"print each with derive sheet EXPR --at ...")
    if at is not None and student is not None:
        raise DeriveError("give either --at or --student, not both")
    point = at or (ex.points(seed, student)[0] if student is not None else dict(ex.example))
    if ex.vector:
        point = {k: np.asarray(v, dtype=float) for k, v in point.items()}
        return ex.array_program(point), point
    return ex.program, point
