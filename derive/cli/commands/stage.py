"""``derive stage``: a function's staged forward and backward pass, with values at a point."""
from __future__ import annotations

import json

from derive.symbolic.budget import check_budget
from derive.cli.commands._source import is_config, load_target, parse_at
from derive.core.errors import DeriveError
from derive.frontend.parse import GATES
from derive.symbolic.budget import within
from derive.oracle.check import check
from derive.printing.printers import CodePrinter

NAME = "stage"
HELP = "stage a function: forward lines, generated backward lines, values and gradient"
FORMATS = ("text", "python", "latex", "markdown")
CHECK_BUDGET = 10.0


def add_arguments(p):
    p.add_argument("target", help='an expression like "x*y + sin(x)" or path/to/file.py:func')
    p.add_argument("--at", help="input values, e.g. x=3,y=-4 or w=[2,-3,-3],x=[-1,-2]")
    p.add_argument("--gates", default="grouped", help="grouped (default) or primitive")
    p.add_argument("--shapes", help="array input shapes for NumPy functions, e.g. W1=5x3,b=5,x=3")
    p.add_argument("--upstream", metavar="ARRAY",
                   help="the upstream gradient of an array output (CS231n's dout), e.g. [[1,0],[0,2]]")
    p.add_argument("--unroll", action="store_true",
                   help="read for loops once per iteration (trip counts from constants, --shapes or --at); "
                        "with --at, conditions on the data are taken at that point")
    p.add_argument("--format", default="text", help="text (default), python, latex or markdown")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--check", action="store_true",
                   help="compare the gradient with sympy.diff and central differences")
    p.add_argument("--budget", default=CHECK_BUDGET, metavar="S",
                   help=f"seconds allowed for --check (default {CHECK_BUDGET:g}): sympy.diff of a "
                        "large function can take much longer")
    p.add_argument("--float", action="store_true",
                   help="show float64 results instead of correctly rounded values")


def run(args) -> int:
    if args.gates not in GATES:
        raise DeriveError(f"unknown --gates '{args.gates}'; use one of: {', '.join(GATES)}")
    if args.format not in FORMATS:
        raise DeriveError(f"unknown --format '{args.format}'; use one of: {', '.join(FORMATS)}")
    budget = check_budget(args.budget)
    point = parse_at(args.at)
    constants = {k: v for k, v in point.items() if is_config(v)}
    point = {k: v for k, v in point.items() if k not in constants}
    prog = load_target(args.target, args.gates, args.shapes, constants or None, args.unroll, point)
    arrays = prog.arrays
    if arrays and point:
        import numpy as np

        point = {k: np.asarray(v, dtype=None if k in prog.labels else float) for k, v in point.items()}
        prog = prog.with_shapes({k: v.shape for k, v in point.items()})  # print what runs here
    upstream = _upstream(args.upstream)
    if upstream is not None and args.at is None:
        raise DeriveError("--upstream goes with --at (the point where the upstream gradient flows back)")
    ran = args.at is not None and (point or not constants)  # --at with configuration only: no run
    result = prog.run(exact=not args.float, upstream=upstream, **point) if ran else None
    if args.json:
        print(json.dumps(to_json(prog, result) if not arrays and not prog.loops else _array_json(prog, result),
                         indent=2))
    elif args.format == "python":
        print(prog.to_python(), end="")
    elif args.format == "latex":
        print(prog.to_latex())
    elif args.format == "markdown":
        print(prog.to_markdown(result))
    else:
        print(prog.to_text(result))
    if args.check:
        report = checked(prog, point or None, budget)
        print(("\n" if not args.json else "") + str(report))
        return 0 if report.ok else 1
    return 0


def _upstream(text):
    """``--upstream [[1,0],[0,2]]`` -> a float array (parsed like --at, never evaluated)."""
    if text is None:
        return None
    import numpy as np

    return np.asarray(parse_at(f"upstream={text}")["upstream"], dtype=float)


def checked(prog, point, budget):
    """``derive.check`` in a worker under a time budget (sympy.diff of a deep function can swell)."""

    out = within(budget, check, prog, point)
    if out.ok:
        return out.value
    why = out.status.removeprefix("error: ").removeprefix("DeriveError: ")
    if out.status.startswith("gave up"):
        why += ": sympy.diff of the whole function is too large (derive compare shows its size)"
    raise DeriveError(f"--check {why}")


def _array_json(prog, result):
    out = prog.to_dict()
    if result is not None:
        import numpy as np

        def plain(d):
            return {k: np.asarray(v).tolist() for k, v in d.items()}

        out.update(value=np.asarray(result.value).tolist(), grad=plain(result.grad),
                   intermediates=plain(result.values), adjoints=plain(result.adjoints))
    return out


def to_json(prog, result=None) -> dict:
    """The ``--json`` object: inputs, lines, and (with a point) every number."""

    p = CodePrinter()
    return {
        "inputs": [name for name, _ in prog.params],
        "forward": [p._print(ln) for ln in prog.forward],
        "backward": [p._print(bl) for bl in prog.backward],
        "seed": next((bl.target.name for bl in prog.backward if bl.seed), None),
        "value": result.value if result else None,
        "grad": result.grad if result else None,
        "intermediates": result.values if result else None,
        "adjoints": result.adjoints if result else None,
    }
