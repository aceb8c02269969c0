"""The work of ``derive sheet`` when the request cache missed: check the options, stage, draw."""
from __future__ import annotations

from derive.symbolic.budget import check_budget
from derive.cli.commands._source import load_target, parse_at
from derive.core.errors import DeriveError
from derive.frontend.parse import GATES
from derive.sheets.sheet import BLANKS
from derive.sheets.sheet import ENGINES
from derive.sheets.sheet import sheet
from derive.sheets.variants import parse_range
from derive.sheets.request import writable as _writable


def run(args) -> list:
    """The files written (their names)."""

    if args.engine not in ENGINES:
        raise DeriveError(f"unknown --engine '{args.engine}'; use one of: {', '.join(ENGINES)}")
    if args.gates not in GATES:
        raise DeriveError(f"unknown --gates '{args.gates}'; use one of: {', '.join(GATES)}")
    if args.blanks not in BLANKS:
        raise DeriveError(f"unknown --blanks '{args.blanks}'; use one of: {', '.join(BLANKS)}")
    if args.engine == "typst" and not args.tex:
        try:
            import typst  # noqa: F401
        except ImportError:
            raise DeriveError('--engine typst needs the typst package: '
                              'pip install "derive[typst]"') from None

    budget = check_budget(args.budget)
    if args.variants < 0:
        raise DeriveError("--variants must be a positive number")
    if args.roster and args.exercise:
        from derive.sheets.exercise import roster_sheets

        _writable(args.output)
        return list(roster_sheets(args.exercise, args.roster, args.output, args.seed,
                                  args.worksheet, args.key, args.blanks))
    if args.exercise:
        from derive.sheets.exercise import exercise_target

        prog, point = exercise_target(args.exercise, args.student, args.seed, parse_at(args.at) or None)
    elif args.target is None:
        raise DeriveError("give a function or expression to print, or --exercise NAME|DIR")
    roster = None
    if args.roster:
        from derive.teach.roster import read_roster

        if args.variants:
            raise DeriveError("--roster gives one sheet per student: drop --variants")
        roster = read_roster(args.roster)
        if not roster:
            raise DeriveError(f"roster {args.roster!r} has no students; add rows id,name,email")
    if args.at is None and not args.variants and not roster and not args.exercise:
        raise DeriveError("give the input values with --at, e.g. --at x=3,y=-4 "
                          "(or use --variants N or --roster CSV)")
    if args.value_range is not None and not (args.variants or roster):
        raise DeriveError("--range chooses the values of --variants or --roster; give one of them")
    value_range = parse_range(args.value_range)
    _writable(args.output)
    if not args.exercise:
        prog = load_target(args.target, args.gates, unroll=args.unroll)
        point = parse_at(args.at) if args.at is not None else None
    return sheet(prog, at=point, path=args.output, worksheet=args.worksheet, key=args.key,
                    variants=args.variants, seed=args.seed, blanks=args.blanks,
                    engine=args.engine, split=args.split, tex=args.tex, digits=args.digits,
                    value_range=value_range, roster=roster, budget=budget, cache=args.cache)
