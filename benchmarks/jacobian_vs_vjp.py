"""Forming Jacobians against VJP lines as d grows (issue 4's vector chain rule measurement).

Run by hand: ``python benchmarks/jacobian_vs_vjp.py [d ...] [--plot out.png]``. For the
discussion sheet's l = 1/2 ||W2 tanh(W1 x + b) - y||^2 with d x d matrices it prints, for
dl/dW1, the Jacobian entries formed and the multiplications of the Jacobian chain product
against the multiplications of derive's staged VJP lines, and the measured seconds (best of
5, one BLAS thread) of both routes; it checks that both give the same gradient.
"""
import os
import sys

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread: the machine is shared, timings stay smooth

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # a checkout

from derive.symbolic.jacobian_costs import cost_table, format_table, plot_costs

args = sys.argv[1:]
plot = None
if "--plot" in args:
    i = args.index("--plot")
    plot = args[i + 1]
    del args[i:i + 2]
ds = tuple(int(a) for a in args) or (2, 4, 8, 16, 32, 64, 128)
rows = cost_table(ds, repeat=5)
print(format_table(rows))
if plot:
    plot_costs(rows, plot)
    print(f"plot: {plot}")
