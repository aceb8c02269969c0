"""``derive compare EXPR|FILE.py:FUNC``: the symbolic gradient's forms against the staged program."""
from __future__ import annotations

from derive.symbolic.budget import DEFAULT_BUDGET, check_budget
from derive.cli.commands._source import load_target
from derive.cli.commands._source import parse_at
from derive.symbolic.compare import compare
from derive.core.errors import DeriveError

NAME = "compare"
MAX_POINTS = 100
HELP = "symbolic gradient (raw, simplified, expanded, cse) against the staged program"


def add_arguments(p):
    p.add_argument("target", metavar="EXPR|FILE.py:FUNC", help="an expression or a function in a file")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.add_argument("--budget", default=DEFAULT_BUDGET, metavar="S",
                   help=f"seconds allowed for each symbolic form (default {DEFAULT_BUDGET:g})")
    p.add_argument("--at", metavar="POINT", help="point for the total derivative, e.g. 'x=3, y=-4'")
    p.add_argument("--gates", choices=("grouped", "primitive"), default="grouped")
    p.add_argument("--points", type=int, default=3, help="random points for the check (default 3)")
    p.add_argument("--seed", type=int, default=0)


def run(args) -> int:

    budget = check_budget(args.budget)
    if not 1 <= args.points <= MAX_POINTS:
        raise DeriveError(f"--points must be from 1 to {MAX_POINTS}, got {args.points}")
    prog = load_target(args.target, args.gates)
    at = parse_at(args.at) if args.at else None
    if at:
        prog.run(**at)  # a clear error now for a missing or unknown input
    result = compare(prog, budget=budget, points=args.points, seed=args.seed, at=at)
    print(result.to_json() if args.json else result.to_text())
    return 0
