"""`derive gradescope`: build a Gradescope autograder bundle (zip) for an exercise."""
from __future__ import annotations

import os

from derive.core.errors import DeriveError
from derive.teach.exercises import get
from derive.teach.grading.platforms import build_gradescope

NAME = "gradescope"
HELP = "build a Gradescope autograder zip (setup.sh, run_autograder) for an exercise"


def add_arguments(p):
    p.add_argument("exercise", help="exercise name or directory")
    p.add_argument("-o", "--output", required=True, metavar="ZIP", help="the zip file to write")
    p.add_argument("--seed", type=int, default=0, help="seed of the per-student values")
    p.add_argument("--late-penalty", type=float, default=0.0, metavar="FRACTION",
                   help="fraction of the maximum off per started day after the assignment's due date")


def run(args) -> int:

    get(args.exercise)
    if not args.output.endswith(".zip"):
        raise DeriveError("-o must name a .zip file")
    folder = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(folder):
        raise DeriveError(f"no such directory: {folder}")
    if not 0 <= args.late_penalty <= 1:
        raise DeriveError("--late-penalty must be a fraction between 0 and 1, e.g. 0.1")
    names = build_gradescope(args.exercise, args.output, args.seed, args.late_penalty)
    print(f"wrote {args.output} ({len(names)} files): upload it as the autograder of a "
          f"programming assignment; students submit a .py or .ipynb defining backward()")
    return 0
