"""``derive sheet``: a printable derivation sheet (PDF), worksheets with blanks, keys, variants."""
from __future__ import annotations

from derive.symbolic.budget import DEFAULT_BUDGET, check_budget
from derive.cli.commands._source import load_target, parse_at
from derive.core.errors import DeriveError
from derive.frontend.parse import GATES
from derive.sheets.sheet import BLANKS
from derive.sheets.sheet import ENGINES
from derive.sheets.sheet import sheet
from derive.sheets.variants import parse_range

NAME = "sheet"
HELP = "print a derivation sheet: circuit, forward and backward tables, gradient, symbolic side"


def add_arguments(p):
    p.add_argument("target", nargs="?", help='an expression like "x*y + sin(x)" or path/to/file.py:func')
    p.add_argument("--exercise", metavar="NAME|DIR", help="the forward function of an exercise "
                   "(built-in name or directory), at its example point or --student's values")
    p.add_argument("--student", metavar="ID", help="with --exercise: the values graded for this id")
    p.add_argument("--at", help="input values, e.g. x=3,y=-4 or w=[2,-3,-3],x=[-1,-2]")
    p.add_argument("-o", "--output", default="sheet.pdf", help="the PDF to write (default sheet.pdf)")
    p.add_argument("--gates", default="grouped", help="grouped (default) or primitive")
    p.add_argument("--unroll", action="store_true", help="read for loops once per iteration (a sheet "
                   "unrolls a rolled loop of at most 4 steps itself)")
    p.add_argument("--worksheet", action="store_true", help="leave blanks for the learner")
    p.add_argument("--key", action="store_true", help="the answer key (with --worksheet: after it)")
    p.add_argument("--blanks", default="all", help="what a worksheet leaves blank: all (default), "
                   "values or formulas")
    p.add_argument("--variants", type=int, default=0, metavar="N",
                   help="N versions with different input values, each with its key "
                        "(--at, if given, is variant 1)")
    p.add_argument("--seed", type=int, default=0, help="random seed for --variants (default 0)")
    p.add_argument("--digits", type=int, default=4, metavar="D",
                   help="significant figures of every number printed (default 4)")
    p.add_argument("--range", dest="value_range", metavar="LO,HI",
                   help="--variants: every value and adjoint 0 or LO <= |v| <= HI (default 0.01,100)")
    p.add_argument("--roster", metavar="CSV",
                   help="one sheet per student (id,name,email[,seed]) with their name and values "
                        "(with --exercise: OUTPUT-<id>.pdf each, at the values graded for them)")
    p.add_argument("--split", action="store_true",
                   help="with --variants: one PDF per student (NAME-01.pdf, NAME-01-key.pdf, ...)")
    p.add_argument("--engine", default="matplotlib", help="matplotlib (default) or typst")
    p.add_argument("--tex", action="store_true", help="write LaTeX source (.tex) instead of a PDF")
    p.add_argument("--no-cache", dest="cache", action="store_false",
                   help="neither read nor write the disk cache of drawn sheets and SymPy's side "
                        "(also DERIVE_CACHE=0; the folder: DERIVE_CACHE_DIR, default ~/.cache/derive)")
    p.add_argument("--budget", default=DEFAULT_BUDGET, metavar="S",
                   help=f"seconds SymPy gets for the symbolic derivative before the sheet says it "
                        f"gave up (default {DEFAULT_BUDGET:g})")


def run(args) -> int:
    import contextlib

    from derive.sheets import disk

    with contextlib.nullcontext() if args.cache else disk.disabled():
        return _run(args)


def _run(args) -> int:
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
        for path in roster_sheets(args.exercise, args.roster, args.output, args.seed, args.worksheet,
                                  args.key, args.blanks):
            print(f"wrote {path}")
        return 0
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
    written = sheet(prog, at=point, path=args.output, worksheet=args.worksheet, key=args.key,
                    variants=args.variants, seed=args.seed, blanks=args.blanks,
                    engine=args.engine, split=args.split, tex=args.tex, digits=args.digits,
                    value_range=value_range, roster=roster, budget=budget, cache=args.cache)
    for path in written:
        print(f"wrote {path}")
    return 0


def _writable(path):
    import os

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise DeriveError(f"cannot write {path}: no such folder {folder}; choose a writable path")
    if os.path.isdir(path):
        raise DeriveError(f"cannot write {path}: it is a folder; give a file name like sheet.pdf")
    if not os.access(folder, os.W_OK):
        raise DeriveError(f"cannot write {path}: permission denied; choose a writable path")
