"""An exercise's forward function and point for ``derive sheet --exercise NAME|DIR [--student ID]``."""
from __future__ import annotations

import numpy as np

from derive.core.errors import DeriveError
from derive.teach.exercises import get
from derive.teach.roster import read_roster
from derive.sheets.sheet import render
from derive.sheets.sheet import sheets_for
from derive.sheets.sheet import write_bytes


def exercise_target(name, student=None, seed=0, at=None):
    """(program, point): the example point, ``at``, or the first point graded for ``student``."""

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


def roster_sheets(name, roster, path, seed=0, worksheet=False, key=False, blanks="all") -> list:
    """One PDF per roster student (``<stem>-<id>.pdf``): the exercise at the first point the
    grader uses for that id (the roster's seed when given), the student's name on the page."""
    import os
    import re

    ex = get(name)
    stem, ext = os.path.splitext(path)
    written = []
    for person in read_roster(roster):
        prog, _ = exercise_target(name)
        point = ex.points(seed, person.id, person.seed)[0]
        if ex.vector:
            point = {k: np.asarray(v, dtype=float) for k, v in point.items()}
            prog = ex.array_program(point)
        sheets = sheets_for(prog, point, worksheet, key, 0, seed, blanks)
        for s in sheets:
            s.student, s.student_id = person.name or person.id, person.id
        safe = re.sub(r"[^\w.@-]", "_", person.id)[:80]
        written.append(write_bytes(f"{stem}-{safe}{ext or '.pdf'}", render(sheets)))
    return written
