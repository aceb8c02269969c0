"""`derive grade`: grade learners' submissions of an exercise (sandboxed, parallel, resumable)."""
from __future__ import annotations

import json
import os
import sys

from derive.errors import DeriveError
from derive.sandbox_report import printable

NAME = "grade"
HELP = "grade submissions (.py or .ipynb) of an exercise, each in its own sandboxed process"


def add_arguments(p):
    p.add_argument("exercise", help="exercise name (sigmoid_neuron, staged_fxy, ...)")
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION", help=".py or .ipynb files")
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per submission")
    p.add_argument("--format", choices=("json", "gradescope", "prairielearn"), default=None,
                   help="format of the file written with -o (default json)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write results here (as they finish; a rerun after a kill resumes)")
    p.add_argument("--workers", type=int, default=2, help="submissions graded in parallel (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the per-student values (default 0)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per submission (default 10)")
    p.add_argument("--memory", type=int, default=512, help="extra MB a submission may use (default 512)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--isolation", choices=("auto", "bwrap", "landlock", "none"), default="auto",
                   help="what the kernel enforces around each submission: auto (default: the strongest "
                        "that works here, see `derive doctor`), bwrap, landlock, or none (only inside a "
                        "container that already isolates, such as Gradescope's or PrairieLearn's)")


def run(args) -> int:
    from derive.exercises import get
    from derive.grading import grade_batch
    from derive.platforms import render
    from derive.isolation import plan
    from derive.sandbox import Limits

    ex = get(args.exercise)
    if args.format and not args.output:
        raise DeriveError("--format needs -o FILE")
    if args.workers < 1 or args.workers > 64:
        raise DeriveError("--workers must be between 1 and 64")
    if not 0 < args.timeout <= 3600 or not 16 <= args.memory <= 65536:
        raise DeriveError("--timeout must be in (0, 3600] seconds and --memory in [16, 65536] MB")
    missing = [p for p in args.submissions if not os.path.lexists(p)]
    if missing:  # other non-files (directories, FIFOs, devices...) are graded 0 with the reason
        raise DeriveError(f"no such file: {printable(missing[0])}")
    if args.output and os.path.abspath(args.output) in {os.path.abspath(p) for p in args.submissions}:
        raise DeriveError("the output file is one of the submissions")
    if args.output and os.path.isdir(args.output):
        raise DeriveError(f"-o {args.output} is a directory; give a file name")
    layer = plan(args.isolation)  # one line and exit 2 where it cannot work here
    if not args.quiet or args.isolation == "auto":
        print(f"isolation: {layer.description}", file=sys.stderr, flush=True)
    limits = Limits(time=args.timeout, memory=args.memory * 2**20, isolation=layer.layer)
    shown, printing = [0], [not args.json]
    results = [None] * len(args.submissions)

    def show(i, grade):  # print in the order given, as soon as the earlier ones are done
        results[i] = grade
        while shown[0] < len(results) and results[shown[0]] is not None:
            if printing[0]:
                if not args.quiet and sys.stderr.isatty():
                    sys.stderr.write("\r\033[K")
                try:
                    _line(results[shown[0]])
                except BrokenPipeError:  # `| head`: stop printing, keep grading into -o
                    printing[0] = False
                    sys.stdout = open(os.devnull, "w")
            shown[0] += 1

    if args.output:
        try:
            open(args.output, "a").close()
        except OSError as err:
            raise DeriveError(f"cannot write {args.output}: {err.strerror}") from None
    grades = grade_batch(ex, args.submissions, args.seed, args.workers, limits,
                         journal=args.output, progress=not args.quiet, on_result=show)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(render(grades, args.format or "json"))
    if args.json:
        sys.stdout.write(json.dumps(grades, indent=1) + "\n")
    return 0


def _line(g):
    labels = f"  [{', '.join(g['misconceptions'])}]" if g["misconceptions"] else ""
    first = next((t["output"] for t in g["tests"] if t["score"] < t["max_score"]), "all correct")
    print(f"{printable(g['submission'])}: {g['score']:g}/{g['max_score']:g}{labels}  {printable(first)}",
          flush=True)
