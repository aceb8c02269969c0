"""``derive demo``: the seed examples, staged and checked (README's first command ends here)."""
from __future__ import annotations

from derive.oracle.check import check
from derive.symbolic.examples import BY_NAME, stage_example

NAME = "demo"
HELP = "run the seed examples: CS231n's f(x, y) and sigmoid neuron, staged and checked"

_SHOW = [
    ("cs231n-fxy", "grouped",
     "CS231n, 'Backprop in practice: staged computation': f(x, y) at x = 3, y = -4.\n"
     "x and y each feed several gates, so their gradients add up (+=)."),
    ("cs231n-fxy-code", "grouped",
     "The same function written as the notes' own staged code: their eight lines, their names."),
    ("sigmoid-neuron", "grouped",
     "The 2-D sigmoid neuron (notes and Q&A thread): the sigmoid as one gate,\n"
     "local gradient (1 - f) * f."),
    ("sigmoid-neuron", "primitive",
     "The same neuron in CS231n's elementary gates: negate, exp, add 1, 1/x."),
]


def add_arguments(p):
    p.add_argument("--quiet", action="store_true", help="only the summary lines")


def run(args) -> int:
    ok = True
    for name, gates, about in _SHOW:
        ex = BY_NAME[name]
        prog = stage_example(ex, gates)
        result = prog.run(exact=True, **ex.point)
        report = check(prog, at=ex.point)
        match = result.value == ex.value and result.grad == ex.grad
        ok = ok and report.ok and (match or gates == "primitive")
        if not args.quiet:
            bar = "=" * 78
            print(f"{bar}\n{about}\n{bar}")
            print(prog.to_text(result))
            print()
            print(report)
        seeds = "matches the published numbers" if match else "differs from the published numbers"
        print(f"[{name}, {gates} gates] {len(prog.forward)} forward lines, "
              f"{len(prog.backward)} backward lines; {seeds}\n")
    print("demo: all checks passed" if ok else "demo: A CHECK FAILED")
    return 0 if ok else 1
