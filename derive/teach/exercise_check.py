"""Validate an exercise directory: its key against central differences, its template in the sandbox."""
from __future__ import annotations

import os

from derive.core.errors import DeriveError
from derive.teach.exercises import get
from derive.teach.feedback import plain_point
from derive.teach.grading.batch import grade_one


def check_directory(directory, students: int = 5):
    """(ok, report lines): keys verified at the example and ``students`` students' points; the
    template run in the sandbox must report 'not attempted'."""

    ex = get(directory)
    lines, ok = [f"exercise {ex.name} ({ex.directory}): {ex.title}"], True
    points = ex.example_points()[:1] + [p for i in range(students) for p in ex.points(0, f"student{i}")]
    for p in points:
        try:
            ex.verify(p, ex.key(p))
        except DeriveError as err:
            ok = False
            lines.append(f"  FAIL key at {plain_point(p)}: {err}")
            break
        except (ZeroDivisionError, OverflowError, ValueError) as err:
            ok = False
            lines.append(f"  FAIL the function cannot be evaluated at {plain_point(p)} ({err}); "
                         "narrow the parameter's range or use min_abs")
            break
    else:
        lines.append(f"  key ({', '.join(ex.outputs)}) agrees with central differences at "
                     f"{len(points)} points")
    for fname in ("template.py", "template.ipynb", "README.md"):
        if not os.path.isfile(os.path.join(ex.directory, fname)):
            ok = False
            lines.append(f"  FAIL {fname} is missing")
    template = os.path.join(ex.directory, "template.py")
    if os.path.isfile(template):
        g = grade_one(ex, template, student="template")
        if g.score == 0 and "not attempted" in g.message:
            lines.append("  template.py runs in the sandbox and reports: not attempted (0 points)")
        else:
            ok = False
            lines.append(f"  FAIL template.py should raise NotImplementedError and score 0; it gives "
                         f"{g.score:g}/{g.max_score:g}: {g.message}")
    lines.append("OK" if ok else "problems found")
    return ok, lines
