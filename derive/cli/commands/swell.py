"""``derive swell FAMILY --max N``: expression swell by depth, as a table, JSON or a plot."""
from __future__ import annotations

import sys

from derive.symbolic.budget import DEFAULT_BUDGET, check_budget
from derive.symbolic.families import FAMILIES
from derive.core.errors import DeriveError
from derive.symbolic.compare import swell
from derive.symbolic.families import family

NAME = "swell"
HELP = "size of the symbolic gradient against the staged program as a family deepens"


def add_arguments(p):

    p.add_argument("family", metavar="FAMILY", help=f"one of: {', '.join(FAMILIES)}")
    p.add_argument("--max", dest="max_n", required=True, metavar="N", help="largest depth")
    p.add_argument("--min", dest="min_n", metavar="N", help="smallest depth (default: the family's first)")
    p.add_argument("--plot", metavar="OUT.png", help="also draw size against depth (log scale)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument("--budget", default=DEFAULT_BUDGET, metavar="S",
                   help=f"seconds allowed for each symbolic form at each depth (default {DEFAULT_BUDGET:g})")
    p.add_argument("--metric", choices=("ops", "tree", "dag", "chars", "latex"), default="ops",
                   help="what the table and plot show (default ops)")
    p.add_argument("--width", metavar="W", help="layer width for the mlp family (default 2)")
    p.add_argument("--gates", choices=("grouped", "primitive"), default="grouped")


def _int(name, text, low):

    try:
        v = int(text)
    except (TypeError, ValueError):
        raise DeriveError(f"{name} must be a whole number, got '{text}'") from None
    if v < low:
        what = "negative" if v < 0 else f"below {low}"
        raise DeriveError(f"{name} must be at least {low}, got {v} ({what})")
    return v


def run(args) -> int:

    fam = family(args.family)
    budget = check_budget(args.budget)
    max_n = _int("--max", args.max_n, 0)
    min_n = _int("--min", args.min_n, 0) if args.min_n is not None else None
    width = _int("--width", args.width, 1) if args.width is not None else None
    if args.plot and not args.plot.lower().endswith((".png", ".pdf", ".svg")):
        from derive.core.errors import DeriveError

        raise DeriveError(f"--plot: give a .png, .pdf or .svg file name, got '{args.plot}'")
    tty = sys.stderr.isatty()
    progress = (lambda n: print(f"  n = {n} done", file=sys.stderr, flush=True)) if tty else None
    sw = swell(fam.name, max_n, budget=budget, min_n=min_n, gates=args.gates, progress=progress,
               width=width)
    print(sw.to_json() if args.json else sw.to_text(args.metric))
    if args.plot:
        try:
            sw.plot(args.plot, args.metric)
        except OSError as err:
            from derive.core.errors import DeriveError

            raise DeriveError(f"cannot write {args.plot}: {err.strerror or err}") from None
        if not args.json:
            print(f"\nplot written to {args.plot}")
    return 0
