"""Who the students are: read a roster CSV and give each student id its own reproducible seed.

A roster is a CSV file with the columns ``id,name,email`` and optional ``seed`` and ``deadline``
(a per-student extension, ISO date/time). Grading
(``derive grade --roster``) and sheets (``derive sheet --roster``) read it the same way, so a
student's sheet carries the values the grader will use for them: both draw from
``student_seed(id)`` (or the roster's ``seed`` column when it is filled in).
"""
from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass

from derive.core.errors import DeriveError
from derive.core.userfile import read_text

MAX_ROSTER_BYTES = 5_000_000


@dataclass(frozen=True)
class Student:
    """One roster row: the student's id, name, email and optional seed override."""

    id: str
    name: str = ""
    email: str = ""
    seed: int | None = None
    deadline: str = ""          # an extension: ISO date/time replacing the course deadline


def student_seed(student_id: str, seed: int | None = None, salt: int = 0) -> int:
    """The seed of one student's values: the roster's ``seed`` when given, else a hash of the id.

    ``salt`` is the course-wide ``--seed`` so that a new term gets new values for everyone.
    """
    if seed is not None:
        return int(seed)
    digest = hashlib.sha256(f"{int(salt)}:{student_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def read_roster(path: str) -> list[Student]:
    """Read ``id,name,email[,seed]`` rows; one-line ``DeriveError`` naming the problem otherwise."""
    text = read_text(path, MAX_ROSTER_BYTES, f"roster {path!r}", "utf-8-sig", "; save it as UTF-8 CSV")
    rows = list(csv.DictReader(text.splitlines()))
    header = [h.strip().lower() for h in (csv.DictReader(text.splitlines()).fieldnames or [])]
    if "id" not in header:
        raise DeriveError(f"roster {path!r} has no 'id' column; write a header line id,name,email[,seed]")
    students, seen = [], set()
    for n, row in enumerate(rows, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        sid = row.get("id", "")
        if not sid:
            raise DeriveError(f"roster {path!r} line {n}: empty id; every row needs an id")
        if sid in seen:
            raise DeriveError(f"roster {path!r} line {n}: id {sid!r} appears twice; ids must be unique")
        seen.add(sid)
        seed = row.get("seed", "")
        try:
            seed_value = int(seed) if seed else None
        except ValueError:
            raise DeriveError(f"roster {path!r} line {n}: seed {seed!r} is not an integer") from None
        students.append(Student(sid, row.get("name", ""), row.get("email", ""), seed_value,
                                row.get("deadline", "")))
    return students
