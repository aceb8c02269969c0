"""A course's side of grading: who submitted what (ids, roster, duplicates), lateness, gradebook.

A submission's student id comes from the platform's metadata (Gradescope), from its folder in
an LMS download (``subs/<id>/any.py``: used when the files sit in different folders), or else
from the file name. Each student's points derive from the id (or the roster's ``seed``). Two
submissions with the same id are both flagged, never merged. A deadline and a late penalty
(a fraction of the maximum per started day late) come from the command line, the roster's
``deadline`` column or the platform's metadata.
"""
from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone

from derive.core.errors import DeriveError
from derive.teach.roster import read_roster
from derive.teach.grading.child_report import printable

SUFFIXES = (".py", ".ipynb")


@dataclass
class Submission:
    """One file to grade and whose it is."""

    path: str
    student: str
    name: str = ""
    seed: int | None = None
    deadline: datetime | None = None
    submitted: datetime | None = None
    flags: list = field(default_factory=list)
    problem: str = ""  # why there is nothing to grade at this path (graded 0 with it)


def expand(args) -> list:
    """[(path, problem)]: files named, and the .py/.ipynb files under folders named (sorted).

    A name that does not exist, or a folder without submissions, stays in the list with its
    problem (graded 0 with that reason: one bad entry never stops a batch); DeriveError only
    when there is nothing at all to grade.
    """

    out = []
    for a in args:
        if os.path.isdir(a) and not a.endswith(SUFFIXES):  # a folder named x.py is graded 0
            found = sorted(os.path.join(d, f) for d, dirs, files in os.walk(a) for f in files
                           if f.endswith(SUFFIXES) and ".ipynb_checkpoints" not in d)
            out += [(f, "") for f in found] or [(a, f"no .py or .ipynb files under {printable(a)}")]
        elif os.path.lexists(a):  # other non-files (FIFOs, devices...) are graded 0 with the reason
            out.append((a, ""))
        else:
            out.append((a, f"no such file: {printable(a)}"))
    bad = [why for _, why in out if why]
    if len(bad) == len(out):
        more = f" (and {len(bad) - 1} more): nothing to grade" if len(bad) > 1 else ""
        raise DeriveError(bad[0] + more)
    return out


def parse_time(text, what="deadline") -> datetime:
    """An ISO 8601 date/time (UTC unless it says otherwise); DeriveError naming the format."""
    try:
        t = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        raise DeriveError(f"{what} {text!r} is not a date; write it like 2026-12-01T17:00") from None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def ids_from(paths, how="auto") -> list:
    """Student ids: folder names (``subs/<id>/x.py``) or file names (``<id>.py``)."""
    if how not in ("auto", "folder", "file"):
        raise DeriveError(f"--ids must be auto, folder or file, not {how!r}")
    parents = {os.path.dirname(os.path.abspath(p)) for p in paths}
    if how == "file" or (how == "auto" and len(parents) < 2):
        return [os.path.splitext(os.path.basename(p))[0] for p in paths]
    root = os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in paths])
    if how == "auto" and len(paths) > 1 and root in parents:
        return [os.path.splitext(os.path.basename(p))[0] for p in paths]  # some sit at the root
    rel = [os.path.relpath(os.path.abspath(p), root).split(os.sep) for p in paths]
    return [r[0] if len(r) > 1 else os.path.basename(os.path.dirname(os.path.abspath(p)))
            for r, p in zip(rel, paths)]


def submissions(found, roster=None, how="auto", deadline=None) -> list:
    """[Submission] for ``expand``'s [(path, problem)]: ids, roster names and seeds, duplicates
    flagged. Paths with a problem keep their own name as id and do not change the others'."""
    people = {s.id: s for s in read_roster(roster)} if roster else None
    good = [p for p, why in found if not why]
    ids = dict(zip(good, ids_from(good, how)))
    subs = []
    for path, problem in found:
        sid = ids.get(path) if not problem else os.path.splitext(os.path.basename(os.path.normpath(path)))[0]
        sub = Submission(path, sid, deadline=deadline, problem=problem)
        try:
            sub.submitted = datetime.fromtimestamp(os.lstat(path).st_mtime, timezone.utc)
        except OSError:
            pass
        if people is not None:
            person = people.get(sid)
            if person is None:
                sub.flags.append(f"{sid} is not on the roster")
            else:
                sub.name, sub.seed = person.name, person.seed
                extra = getattr(person, "deadline", "")
                if extra:
                    sub.deadline = parse_time(extra, f"roster deadline of {sid}")
        subs.append(sub)
    by_id = {}
    for sub in subs:
        by_id.setdefault(sub.student, []).append(sub)
    for sid, group in by_id.items():
        if len(group) > 1:
            for sub in group:
                others = ", ".join(o.path for o in group if o is not sub)
                sub.flags.append(f"duplicate id {sid}: also submitted as {others}")
    return subs


def apply_late(grade: dict, deadline, submitted, penalty: float) -> dict:
    """Record lateness; take ``penalty`` x max_score off per started day late (never below 0)."""
    base = grade.setdefault("raw_score", grade["score"])  # a reused result is not cut twice
    grade["late_days"], grade["late_penalty"], grade["score"] = 0, 0.0, base
    if deadline is None or submitted is None or submitted <= deadline:
        return grade
    days = -(-(submitted - deadline).total_seconds() // 86400)
    cut = min(base, round(penalty * grade["max_score"] * days, 4))
    grade["late_days"], grade["late_penalty"] = int(days), cut
    grade["score"] = round(base - cut, 4)
    return grade


def annotate(grade: dict, sub: Submission, penalty: float = 0.0) -> dict:
    """Add the roster name, flags and lateness to a grade dict."""
    grade["name"] = sub.name
    grade["flags"] = list(sub.flags)
    return apply_late(grade, sub.deadline, sub.submitted, penalty)


def finished_results(path) -> list:
    """The grade dicts of a finished ``-o FILE`` (a JSON array), or [] if it is not one."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return []
    if isinstance(data, list) and all(isinstance(g, dict) for g in data):
        return data
    return []


def journal_records(path) -> list:
    """The records of an interrupted run's journal (JSON lines); [] if there is none."""
    out = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict) and rec.get("derive_journal") == 1:
                    out.append(rec)
    except OSError:
        pass
    return out


def read_results(path) -> list:
    """Grades from a finished results file or an interrupted run's journal (JSON lines)."""
    out = finished_results(path) or [rec["grade"] for rec in journal_records(path)]
    if not out:
        raise DeriveError(f"{path} holds no results; give the file written by derive grade -o")
    return out


def write_gradebook(grades, path) -> None:
    """One row per submission: id, name, score, max, each test, misconceptions, late, flags."""
    tests = list(dict.fromkeys(t["name"] for g in grades for t in g["tests"]))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name", "score", "max", *tests, "misconceptions", "late_days", "flags",
                    "submission"])
        for g in grades:
            per = {t["name"]: t["score"] for t in g["tests"]}
            w.writerow([g.get("student", ""), g.get("name", ""), g["score"], g["max_score"],
                        *[per.get(t, "") for t in tests], " ".join(g["misconceptions"]),
                        g.get("late_days", 0), "; ".join(g.get("flags", [])), g["submission"]])
