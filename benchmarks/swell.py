"""Expression swell, timed (issue 3's measurement): ``derive swell logistic --max 10 --plot``.

Run by hand: ``python benchmarks/swell.py [MAX] [BUDGET]``. Prints the swell table, the wall
time of the whole run (the target: under a minute on a 2-core machine), the staged side at
n = 50 (still instant), and the numeric-vs-analytic gradient cost of the two-layer loss.
"""
from __future__ import annotations

import sys
import time

from derive.symbolic.chainrule import numeric_cost, slope, text_table, vector_table
from derive.symbolic.compare import swell
from derive.symbolic.plots import cost_plot


def main(argv):
    max_n = int(argv[0]) if argv else 10
    budget = float(argv[1]) if len(argv) > 1 else 5.0
    t0 = time.perf_counter()
    sw = swell("logistic", max_n, budget=budget)
    sw.plot("swell-logistic.png")
    print(sw.to_text())
    print(f"\nwall time, table and plot: {time.perf_counter() - t0:.1f} s (target < 60 s)")
    t0 = time.perf_counter()
    deep = swell("logistic", 50, min_n=50, forms=())
    st = deep.rows[0]["forms"]["staged"]
    print(f"staged logistic map at n = 50: {st['ops']} ops, staged in {st['seconds'] * 1000:.1f} ms "
          f"(whole row {time.perf_counter() - t0:.2f} s)")
    rows = numeric_cost(range(2, 11))
    print("\nnumeric vs analytic cost of dl/dW1 for the two-layer loss")
    print(text_table(rows, ["d", "forward_ops", "fd_evaluations", "fd_ops", "staged_ops", "fd_max_error"]))
    print(f"growth exponents: finite differences d^{slope(rows, 'fd_ops'):.2f}, "
          f"staged d^{slope(rows, 'staged_ops'):.2f}")
    cost_plot(rows, "cost-two-layer.png")
    rows = vector_table(range(2, 7), budget=budget)
    print("\nvector chain rule: component-wise symbolic gradient vs vectorised staged lines")
    print(text_table(rows, list(rows[0])))


if __name__ == "__main__":
    main(sys.argv[1:])
