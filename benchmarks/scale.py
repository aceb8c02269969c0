"""Scale of the staged core: N-line straight-line programs with forks (issue 2's measurement).

Run by hand: ``python benchmarks/scale.py [N ...]``. For each N it writes a Python function of
N lines in which every line reads the two previous values (so every value forks), then times
parsing + staging + backward generation, compiling, one evaluation (median of 20), and the
peak memory of staging and compiling.
"""
from __future__ import annotations

import sys
import time
import tracemalloc

from derive.reader import parse_function
from derive.staged import stage_graph

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


def main(argv):
    sizes = [int(a) for a in argv] or [500, 1000, 2000, 4000]
    print(f"{'N':>6} {'fwd':>6} {'bwd':>6} {'stage s':>8} {'compile s':>9} {'eval ms':>8} {'peak MiB':>8}")
    for n in sizes:
        r = measure(n)
        print(f"{r['n']:>6} {r['forward_lines']:>6} {r['backward_lines']:>6} {r['stage_s']:>8.2f} "
              f"{r['compile_s']:>9.2f} {1000 * r['eval_s']:>8.2f} {r['peak_mib']:>8.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
