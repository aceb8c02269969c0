"""The course options of ``derive grade``: roster, ids, deadline, gradebook, pages, regrade."""
from __future__ import annotations

import os

from derive.core.errors import DeriveError
from derive.teach.course import expand
from derive.teach.course import parse_time
from derive.teach.course import submissions
from derive.teach.course import annotate
from derive.teach.course import write_gradebook


def add_course_arguments(p):
    p.add_argument("--roster", metavar="CSV", help="roster with columns id,name,email[,seed,deadline]")
    p.add_argument("--ids", default="auto", help="student ids from: auto (default; folder names "
                   "when files sit in different folders), folder or file")
    p.add_argument("--deadline", help="ISO date/time, e.g. 2026-12-01T17:00 (UTC unless given); "
                   "a file's modification time is its submission time")
    p.add_argument("--late-penalty", type=float, default=0.0, metavar="FRACTION",
                   help="fraction of the maximum taken off per started day late (default 0)")
    p.add_argument("--csv", metavar="FILE", help="write a gradebook: id, name, score, max, each test, "
                   "misconceptions, late")
    p.add_argument("--html", metavar="DIR", help="write one feedback page per student into DIR")
    p.add_argument("--release", action="store_true", help="show hidden tests in the feedback pages")
    p.add_argument("--regrade", action="store_true", help="regrade everything, even files "
                   "unchanged since the results file in -o was written")


def check_course_arguments(args) -> list:
    """Validate the options before grading starts; the [Submission] to grade."""

    if not 0 <= args.late_penalty <= 1:
        raise DeriveError("--late-penalty must be a fraction between 0 and 1, e.g. 0.1")
    for opt in ("csv", "html"):
        target = getattr(args, opt)
        if target:
            folder = os.path.dirname(os.path.abspath(target))
            if not os.path.isdir(folder):
                raise DeriveError(f"--{opt} {target}: no such folder {folder}")
    deadline = parse_time(args.deadline) if args.deadline else None
    return submissions(expand(args.submissions), args.roster, args.ids, deadline)


def finish(args, ex, subs, grades) -> list:
    """Names, flags and lateness added to each grade; the gradebook and pages written."""

    grades = [annotate(g, s, args.late_penalty) for g, s in zip(grades, subs)]
    if args.csv:
        write_gradebook(grades, args.csv)
    if args.html:
        from derive.teach.report import student_pages

        student_pages(grades, args.html, released=args.release)
    return grades
