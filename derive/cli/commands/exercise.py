"""`derive exercise new|check`: make any function an exercise directory; validate one."""
from __future__ import annotations

from derive.core.errors import DeriveError
from derive.cli.commands._source import _FILE_RE
from derive.cli.commands._source import parse_at
from derive.teach.exercise_new import write_exercise
from derive.teach.exercise_check import check_directory

NAME = "exercise"
HELP = "make a function an exercise (new FILE.py:FUNC -o DIR) or validate one (check DIR)"


def add_arguments(p):
    sub = p.add_subparsers(dest="action", metavar="{new,check}")
    new = sub.add_parser("new", help="write an exercise directory for FILE.py:FUNC")
    new.add_argument("target", help="path/to/file.py:func (read, never run)")
    new.add_argument("-o", "--output", required=True, metavar="DIR", help="the directory to create")
    new.add_argument("--name", help="the exercise's name (default: the function's)")
    new.add_argument("--at", help="an example point, e.g. x=3,y=-4 or W=[[1,2],[3,4]],x=[1,0]")
    chk = sub.add_parser("check", help="check DIR: the key against central differences, the template")
    chk.add_argument("directory", help="an exercise directory or a built-in exercise's name")
    chk.add_argument("--students", type=int, default=5, help="sampled students checked (default 5)")


def run(args) -> int:
    if args.action == "new":
        return _new(args)
    if args.action == "check":
        return _check(args)
    raise DeriveError("use `derive exercise new FILE.py:FUNC -o DIR` or `derive exercise check DIR`")


def _new(args) -> int:

    m = _FILE_RE.match(args.target.strip())
    if not m or not m.group("func"):
        raise DeriveError(f"expected path/to/file.py:func, got '{args.target}'")
    import os

    if not os.path.isfile(m.group("path")):
        raise DeriveError(f"no such file: {m.group('path')}")
    written = write_exercise(m.group("path"), m.group("func"), args.output, args.name, parse_at(args.at))
    print(f"wrote {args.output}: " + ", ".join(os.path.basename(w) for w in written))
    print(f"next: derive exercise check {args.output}")
    return 0


def _check(args) -> int:

    ok, lines = check_directory(args.directory, args.students)
    print("\n".join(lines))
    return 0 if ok else 1
