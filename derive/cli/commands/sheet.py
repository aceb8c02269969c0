"""``derive sheet``: a printable derivation sheet (PDF), worksheets with blanks, keys, variants.

A command asked before is answered from the request cache (``derive.sheets.request``) before
SymPy, NumPy or matplotlib are imported; otherwise ``_sheet.run`` does the work.
"""
from __future__ import annotations

import contextlib
import os
import sys

from derive.symbolic.budget import DEFAULT_BUDGET
from derive.core.errors import DeriveError
from derive.core import disk
from derive.sheets import request
from derive.cli import server

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
    p.add_argument("--engine", default="pdf", help="pdf (default: written directly) or typst")
    p.add_argument("--tex", action="store_true", help="write LaTeX source (.tex) instead of a PDF")
    p.add_argument("--no-cache", dest="cache", action="store_false",
                   help="neither read nor write the disk cache of drawn sheets and SymPy's side "
                        "(also DERIVE_CACHE=0; the folder: DERIVE_CACHE_DIR, default ~/.cache/derive)")
    p.add_argument("--budget", default=DEFAULT_BUDGET, metavar="S",
                   help=f"seconds SymPy gets for the symbolic derivative before the sheet says it "
                        f"gave up (default {DEFAULT_BUDGET:g})")


def run(args) -> int:
    try:
        os.getcwd()
    except FileNotFoundError:
        raise DeriveError("the current folder no longer exists; cd into a folder that exists "
                          "and run the command again") from None
    argv, started = getattr(args, "_argv", None), False    # (argv: run from the command line)
    with contextlib.nullcontext() if args.cache else disk.disabled():
        name = request.request_key(args)
        lines = request.replay(name, args.output)
        if lines is None:
            code = server.ask(argv) if argv is not None else None
            if code is not None:                      # a warm server ran the command
                return code
            from derive.cli.commands import _sheet   # SymPy, NumPy: only on a miss

            written = _sheet.run(args)
            lines = [f"wrote {path}" for path in written]
            request.keep(name, written, lines)
            started = argv is not None and server.spawn()
    for line in lines:
        print(line)
    if started:
        print(f"derive: a sheet server now runs in the background, so the next sheets skip "
              f"importing SymPy (it stops after {server.IDLE / 60:g} idle minutes; "
              f"DERIVE_SERVER=0 turns it off)", file=sys.stderr)
    return 0
