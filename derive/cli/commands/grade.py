"""`derive grade`: grade learners' submissions of an exercise (sandboxed, parallel, resumable)."""
from __future__ import annotations

import json
import os
import sys

from derive.core.errors import DeriveError
from derive.teach.grading.child_report import printable
from derive.cli.commands._course import add_course_arguments
from derive.teach.exercises import get
from derive.teach.grading.batch import grade_batch
from derive.teach.grading.platforms import render
from derive.teach.grading.isolation import plan
from derive.teach.grading.sandbox import Limits
from derive.cli.commands._course import check_course_arguments
from derive.cli.commands._course import finish

NAME = "grade"
HELP = "grade submissions (.py or .ipynb) of an exercise, each in its own sandboxed process"


def add_arguments(p):
    p.add_argument("exercise", help="exercise name (sigmoid_neuron, staged_fxy, ...) or directory")
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                   help=".py or .ipynb files, or folders of them (an LMS download: subs/<id>/any.py)")
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per submission")
    p.add_argument("--format", choices=("json", "gradescope", "prairielearn"), default=None,
                   help="format of the file written with -o (default json)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write results here (as they finish; a rerun after a kill resumes)")
    p.add_argument("--workers", type=int, default=2, help="submissions graded in parallel (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the per-student values (default 0)")
    p.add_argument("--timeout", type=float, default=None, help="seconds per submission (default: "
                   "the exercise's limits.time, 10)")
    p.add_argument("--memory", type=int, default=None, help="extra MB a submission may use "
                   "(default: the exercise's limits.memory_mb, 512)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    add_course_arguments(p)
    p.add_argument("--isolation", choices=("auto", "bwrap", "landlock", "none"), default="auto",
                   help="what the kernel enforces around each submission: auto (default: the strongest "
                        "that works here, see `derive doctor`), bwrap, landlock, or none (only inside a "
                        "container that already isolates, such as Gradescope's or PrairieLearn's)")


def run(args) -> int:


    ex = get(args.exercise)
    if args.format and not args.output:
        raise DeriveError("--format needs -o FILE")
    if args.workers < 1 or args.workers > 64:
        raise DeriveError("--workers must be between 1 and 64")
    default = ex.limits()
    timeout = default.time if args.timeout is None else args.timeout
    memory = default.memory // 2**20 if args.memory is None else args.memory
    if not 0 < timeout <= 3600 or not 16 <= memory <= 65536:
        raise DeriveError("--timeout must be in (0, 3600] seconds and --memory in [16, 65536] MB")
    subs = check_course_arguments(args)
    args.submissions = [s.path for s in subs]
    if args.output and os.path.abspath(args.output) in {os.path.abspath(p) for p in args.submissions}:
        raise DeriveError("the output file is one of the submissions")
    per_file = args.format == "prairielearn"
    if args.output and os.path.isdir(args.output) and not per_file:
        raise DeriveError(f"-o {args.output} is a directory; give a file name")
    layer = plan(args.isolation)  # one line and exit 2 where it cannot work here
    if not args.quiet or args.isolation == "auto":
        print(f"isolation: {layer.description}", file=sys.stderr, flush=True)
    limits = Limits(time=timeout, memory=memory * 2**20, output=default.output, isolation=layer.layer)
    shown, printing = [0], [not args.json]
    flagged = {s.path: s.flags for s in subs}
    results = [None] * len(args.submissions)

    def show(i, grade):  # print in the order given, as soon as the earlier ones are done
        results[i] = grade
        while shown[0] < len(results) and results[shown[0]] is not None:
            if printing[0]:
                if not args.quiet and sys.stderr.isatty():
                    sys.stderr.write("\r\033[K")
                try:
                    _line(results[shown[0]], flagged.get(results[shown[0]]["submission"]))
                except BrokenPipeError:  # `| head`: stop printing, keep grading into -o
                    printing[0] = False
                    sys.stdout = open(os.devnull, "w")
            shown[0] += 1

    journal = os.path.join(args.output, "journal.jsonl") if per_file and args.output else args.output
    if per_file and args.output:
        os.makedirs(args.output, exist_ok=True)
    if journal:
        try:
            open(journal, "a").close()
        except OSError as err:
            raise DeriveError(f"cannot write {journal}: {err.strerror}") from None
    grades = grade_batch(ex, args.submissions, args.seed, args.workers, limits, journal=journal,
                         progress=not args.quiet, on_result=show, regrade=args.regrade,
                         students=[(s.student, s.seed) for s in subs],
                         problems={s.path: s.problem for s in subs if s.problem})
    grades = finish(args, ex, subs, grades)
    if args.output and per_file:
        from derive.teach.grading.prairielearn import write_results

        write_results(grades, args.output)
    elif args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(render(grades, args.format or "json"))
    if args.json:
        sys.stdout.write(json.dumps(grades, indent=1) + "\n")
    return 0


def _line(g, flags=None):
    labels = f"  [{', '.join(g['misconceptions'])}]" if g["misconceptions"] else ""
    first = next((t["output"] for t in g["tests"] if t["score"] < t["max_score"] and not t.get("hidden")),
                 "all correct" if g["score"] == g["max_score"] else "")
    warn = "".join(f"  (!) {printable(f)}" for f in flags or ())
    print(f"{printable(g['submission'])}: {g['score']:g}/{g['max_score']:g}{labels}  {printable(first)}{warn}",
          flush=True)
