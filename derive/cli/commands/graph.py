"""``derive graph``: a function's circuit diagram (PNG, SVG or PDF), or its Graphviz text."""
from __future__ import annotations

from derive.cli.commands._source import load_target, parse_at
from derive.core.errors import DeriveError
from derive.frontend.parse import GATES
from derive.circuit.draw import FORMATS

NAME = "graph"
HELP = "draw a function as a CS231n circuit: values in green above each wire, gradients in red"


def add_arguments(p):
    p.add_argument("target", help='an expression like "x*y + sin(x)" or path/to/file.py:func')
    p.add_argument("--at", help="input values, e.g. x=3,y=-4 or w=[2,-3,-3],x=[-1,-2]")
    p.add_argument("--gates", default="grouped", help="grouped (default) or primitive")
    p.add_argument("-o", "--output", help="circuit.png, .svg or .pdf (or .dot for Graphviz text)")
    p.add_argument("--dot", action="store_true", help="print Graphviz dot text instead of drawing")


def run(args) -> int:

    if args.gates not in GATES:
        raise DeriveError(f"unknown --gates '{args.gates}'; use one of: {', '.join(GATES)}")
    out = args.output
    if not args.dot and not out:
        raise DeriveError("give an output file with -o circuit.png (or .svg, .pdf), or use --dot")
    dot = args.dot or (out or "").lower().endswith(".dot")
    if out and not dot and out.rsplit(".", 1)[-1].lower() not in FORMATS:
        raise DeriveError(f"cannot write '{out}': use a .png, .svg, .pdf or .dot file name")
    prog = load_target(args.target, args.gates)
    c = prog.circuit(**parse_at(args.at))  # a rolled loop: unrolled if short, else a loop box
    if dot:
        text = c.to_dot()
        if not out:
            print(text, end="")
            return 0
        from derive.circuit.draw import write_bytes

        write_bytes(out, text.encode("utf-8"))
    else:
        c.save(out)
    print(f"wrote {out}")
    return 0
