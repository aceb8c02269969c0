"""Forming Jacobians against VJP lines: operation counts and timings for the sheet's loss.

For the discussion sheet's two-layer loss the Jacobian of ``W1 @ x`` w.r.t. W1 alone has
d**3 entries and the chain product costs O(d**4), while the staged VJP lines cost O(d**2).
``cost_table`` measures both (``benchmarks/jacobian_vs_vjp.py`` prints and plots it).
"""
from __future__ import annotations

import time

import numpy as np

from derive.core.errors import DeriveError
from derive.symbolic.jacobians import SHEET
from derive.staging.staged import stage


def counts(d: int) -> dict:
    """Operation counts for dl/dW1 of the sheet's loss, d x d matrices, d-vectors.

    Jacobians: every line's Jacobian formed (entries), then multiplied along the chain from
    the input side, J_l(r) (J_r(a) (J_a(h) J_h(W1))) as the chain rule is written.
    VJP: the staged backward lines (multiplications).
    """
    entries = d * d * d + d * d + d * d + d          # J_h(W1), J_a(h), J_r(a), J_l(r)
    chain = d * d * d * d + d * d * d * d + d * d * d  # (d x d)(d x d^2) twice, then (1 x d)(d x d^2)
    vjp = d + d + d * d + d * d + d + d * d           # dr, r*, dW2, da, dh, dW1 (outer)
    return {"d": d, "jacobian_entries": entries, "jacobian_mults": chain, "vjp_mults": vjp}


def _jacobian_route(W1, b, W2, x, y):
    d = len(x)
    h = W1 @ x + b
    a = np.tanh(h)
    r = W2 @ a - y
    J_h_W1 = np.kron(np.eye(d), x[None, :])    # (d, d*d): dh_i/dW1_jk = [i == j] x_k
    J_a_h = np.diag(1 - a ** 2)
    J_r_a = W2
    J_l_r = r[None, :]
    return (J_l_r @ (J_r_a @ (J_a_h @ J_h_W1))).reshape(d, d)


def cost_table(ds=(2, 4, 8, 16, 32, 64), repeat: int = 3, seed: int = 0) -> list:
    """Counts and measured seconds (best of ``repeat``) for dl/dW1: Jacobians vs staged VJPs."""
    prog = stage(SHEET)
    rng = np.random.default_rng(seed)
    rows = []
    for d in ds:
        args = dict(W1=rng.normal(size=(d, d)), b=rng.normal(size=d), W2=rng.normal(size=(d, d)),
                    x=rng.normal(size=d), y=rng.normal(size=d))
        fn = prog.with_shapes({k: v.shape for k, v in args.items()}).compiled()[0]
        order = prog.param_names
        t_jac, t_vjp = [], []
        for _ in range(repeat):
            t0 = time.perf_counter()
            g_jac = _jacobian_route(**args)
            t1 = time.perf_counter()
            fn(*[args[p] for p in order])
            t2 = time.perf_counter()
            t_jac.append(t1 - t0)
            t_vjp.append(t2 - t1)
        g_vjp = prog.run(**args).grad["W1"]
        if not np.allclose(g_jac, g_vjp, rtol=1e-9, atol=1e-12):
            raise DeriveError(f"Jacobian product and VJP lines disagree at d = {d}")
        rows.append(dict(counts(d), jacobian_seconds=min(t_jac), vjp_seconds=min(t_vjp)))
    return rows


def format_table(rows) -> str:
    head = f"{'d':>4} {'Jacobian entries':>17} {'Jacobian mults':>15} {'VJP mults':>10} " \
           f"{'Jacobian s':>11} {'VJP s':>10}"
    lines = [head]
    for r in rows:
        lines.append(f"{r['d']:>4} {r['jacobian_entries']:>17,} {r['jacobian_mults']:>15,} "
                     f"{r['vjp_mults']:>10,} {r['jacobian_seconds']:>11.2e} {r['vjp_seconds']:>10.2e}")
    return "\n".join(lines)


def plot_costs(rows, path=None):
    """Operation counts and seconds against d (log-log). Returns the figure."""
    import matplotlib.pyplot as plt

    d = [r["d"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.loglog(d, [r["jacobian_mults"] for r in rows], "o-", label="Jacobian product")
    ax1.loglog(d, [r["vjp_mults"] for r in rows], "s-", label="VJP lines")
    ax1.set_xlabel("d")
    ax1.set_ylabel("multiplications for dl/dW1")
    ax1.legend()
    ax2.loglog(d, [r["jacobian_seconds"] for r in rows], "o-", label="Jacobian product")
    ax2.loglog(d, [r["vjp_seconds"] for r in rows], "s-", label="VJP lines (whole backward pass)")
    ax2.set_xlabel("d")
    ax2.set_ylabel("seconds")
    ax2.legend()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig
