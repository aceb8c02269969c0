"""Scale of the staged core: N-line straight-line programs with forks (issue 2's measurement).

Run by hand: ``python benchmarks/scale.py [N ...]``. For each N it writes a Python function of
N lines in which every line reads the two previous values (so every value forks), then times
parsing + staging + backward generation, compiling, one evaluation (median of 20), and the
peak memory of staging and compiling.

``python benchmarks/scale.py --sums [N ...]`` times long expression strings instead (issue 11):
``x+x+...+x``, ``x*x*...*x`` and ``x0+x1+...`` of N terms, as ``derive stage --at`` handles them
(parse and stage, print, run in float64 and correctly rounded), then ``compare``'s staged side
(central differences), and how fast a 100 KB input over the size limit is refused.
"""
from __future__ import annotations

import sys
import time
import tracemalloc

from derive.core.errors import DeriveError
from derive.frontend.parse import MAX_NODES, parse_expression
from derive.frontend.reader import parse_function
from derive.staging.staged import stage_graph

GATES = ["{a} * {b}", "{a} + {b}", "sin({a}) * {b}", "{a} - 0.5 * {b}", "tanh({a} + {b})",
         "{a} / (1 + {b}**2)"]


def program(n: int) -> str:
    """Source of a straight-line function with n assignments, forks on every value."""
    lines = ["def big(x, y):", "    v0 = x * y", "    v1 = x + y"]
    for i in range(2, n):
        g = GATES[i % len(GATES)].format(a=f"v{i - 1}", b=f"v{i - 2}")
        lines.append(f"    v{i} = {g}")
    lines.append(f"    return v{n - 1}")
    return "\n".join(lines) + "\n"


def measure(n: int) -> dict:
    src = program(n)
    t0 = time.perf_counter()
    prog = stage_graph(parse_function(src, "big"), "big")
    t1 = time.perf_counter()
    fn = prog.gradient_function("math")
    t2 = time.perf_counter()
    prog.run(x=0.3, y=0.7)
    t3 = time.perf_counter()
    evals = []
    for _ in range(20):
        s = time.perf_counter()
        fn(0.3, 0.7)
        evals.append(time.perf_counter() - s)
    tracemalloc.start()  # memory in a second pass: tracing slows everything down
    stage_graph(parse_function(src, "big"), "big").gradient_function("math")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"n": n, "forward_lines": len(prog.forward), "backward_lines": len(prog.backward),
            "stage_s": t1 - t0, "compile_s": t2 - t1, "first_run_s": t3 - t2,
            "eval_s": sorted(evals)[len(evals) // 2], "peak_mib": peak / 2**20}


def expression(kind: str, n: int) -> str:
    if kind == "distinct":
        return "+".join(f"x{i}" for i in range(n))
    return {"sum": "+", "product": "*"}[kind].join(["x"] * n)


def measure_expression(kind: str, n: int) -> dict:
    from derive.symbolic.compare import central_differences

    text = expression(kind, n)
    cpu = time.process_time
    t0 = cpu()
    prog = stage_graph(parse_expression(text), text)
    t1 = cpu()
    prog.to_text()
    t2 = cpu()
    point = {s.name: 0.5 for s in prog.inputs}
    prog.run(**point)
    t3 = cpu()
    prog.run(exact=True, **point)
    t4 = cpu()
    central_differences(prog, point)
    t5 = cpu()
    return {"kind": kind, "n": n, "kb": len(text) / 1000, "stage_s": t1 - t0, "print_s": t2 - t1,
            "run_s": t3 - t2, "exact_s": t4 - t3, "fd_s": t5 - t4}


def refusal_seconds(kind: str, n: int) -> float:
    text = expression(kind, n)
    t0 = time.process_time()
    try:
        parse_expression(text)
    except DeriveError:
        return time.process_time() - t0
    raise AssertionError(f"{kind} of {n} terms was not refused (limit {MAX_NODES})")


def main_sums(argv):
    sizes = [int(a) for a in argv] or [1000, 3000, 9000]
    print(f"CPU seconds; the size limit is {MAX_NODES:,} gates, inputs and constants")
    print(f"{'kind':>9} {'N':>6} {'KB':>6} {'stage':>6} {'print':>6} {'run':>6} {'exact':>6} {'fd':>6}")
    for kind in ("sum", "product", "distinct"):
        for n in sizes:
            if kind == "distinct" and 2 * n > MAX_NODES:
                continue
            r = measure_expression(kind, n)
            print(f"{kind:>9} {n:>6} {r['kb']:>6.1f} {r['stage_s']:>6.2f} {r['print_s']:>6.2f} "
                  f"{r['run_s']:>6.2f} {r['exact_s']:>6.2f} {r['fd_s']:>6.2f}")
    for kind, n in (("sum", 50_000), ("product", 60_000)):
        print(f"{kind} of {n:,} terms refused in {refusal_seconds(kind, n):.2f} s")


def main(argv):
    if argv[:1] == ["--sums"]:
        return main_sums(argv[1:])
    sizes = [int(a) for a in argv] or [500, 1000, 2000, 4000]
    print(f"{'N':>6} {'fwd':>6} {'bwd':>6} {'stage s':>8} {'compile s':>9} {'eval ms':>8} {'peak MiB':>8}")
    for n in sizes:
        r = measure(n)
        print(f"{r['n']:>6} {r['forward_lines']:>6} {r['backward_lines']:>6} {r['stage_s']:>8.2f} "
              f"{r['compile_s']:>9.2f} {1000 * r['eval_s']:>8.2f} {r['peak_mib']:>8.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
