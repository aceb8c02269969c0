"""`derive prairielearn`: the files a PrairieLearn course needs to grade an exercise externally."""
from __future__ import annotations

import os

from derive.core.errors import DeriveError
from derive.teach.exercises import get
from derive.teach.grading.prairielearn import IMAGE
from derive.teach.grading.prairielearn import build_course_files

NAME = "prairielearn"
HELP = "write serverFilesCourse/derive_grader (entrypoint run.sh) and info.json for an exercise"


def add_arguments(p):
    p.add_argument("exercise", help="exercise name or directory")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write into")
    p.add_argument("--seed", type=int, default=0, help="seed of the per-student values")
    p.add_argument("--timeout", type=int, default=60, help="grading job timeout in seconds (max 600)")


def run(args) -> int:

    get(args.exercise)
    if not 1 <= args.timeout <= 600:
        raise DeriveError("--timeout must be between 1 and 600 seconds (PrairieLearn's limit)")
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise DeriveError(f"-o {args.output} is a file; give a folder")
    os.makedirs(args.output, exist_ok=True)
    written = build_course_files(args.exercise, args.output, args.seed, args.timeout)
    print(f"wrote {', '.join(written)}: copy serverFilesCourse/derive_grader into the course's "
          f"serverFilesCourse and merge info.json into the question's (image {IMAGE})")
    return 0
