"""`derive report`: the class report (HTML, figures embedded) from a results file of derive grade."""
from __future__ import annotations

import os

from derive.core.errors import DeriveError
from derive.teach.course import read_results
from derive.teach.report import class_report

NAME = "report"
HELP = "class report from the results of derive grade -o: histogram, misconceptions, pass rates"


def add_arguments(p):
    p.add_argument("results", metavar="JOURNAL", help="the file written by derive grade -o (JSON)")
    p.add_argument("-o", "--output", default="report.html", help="the HTML file (default report.html)")
    p.add_argument("--title", default="Class report", help="the page's title")


def run(args) -> int:

    if not os.path.isfile(args.results):
        raise DeriveError(f"no such file: {args.results}")
    folder = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(folder) or os.path.isdir(args.output):
        raise DeriveError(f"cannot write {args.output}; give a file name in an existing folder")
    grades = read_results(args.results)
    if not all(isinstance(g, dict) and {"score", "max_score", "tests", "misconceptions"} <= set(g)
               for g in grades):
        raise DeriveError(f"{args.results} is not a results file of derive grade -o")
    with open(args.output, "w", encoding="utf-8") as fh:
        fh.write(class_report(grades, args.title))
    print(f"wrote {args.output} ({len(grades)} submissions)")
    return 0
