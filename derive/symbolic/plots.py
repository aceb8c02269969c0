"""Matplotlib figures: gradient size against depth (one line per form), and cost against size.

Log-scale y axis, one labelled line per form, a cross where a form gave up under its time
budget. Figures are drawn with the non-interactive Agg backend and saved as PNG (or
returned, for notebooks, where the notebook's own backend is kept).
"""
from __future__ import annotations
from derive.symbolic.families import family

STYLE = {
    "raw": dict(color="#d62728", marker="o", markersize=6),
    "simplified": dict(color="#9467bd", marker="s", markersize=10, markerfacecolor="none",
                       markeredgewidth=2),
    "expanded": dict(color="#ff7f0e", marker="^", linestyle="--"),
    "cse": dict(color="#1f77b4", marker="D", markersize=5),
    "staged": dict(color="#2ca02c", marker="o", markersize=6, linewidth=3),
}
LABEL = {"raw": "sympy.diff (raw)", "simplified": "simplify", "expanded": "expand",
         "cse": "cse", "staged": "staged (forward + backward)"}
METRIC_LABEL = {"ops": "operations (count_ops)", "tree": "expression tree nodes",
                "dag": "distinct subexpressions (DAG nodes)", "chars": "characters of Python",
                "latex": "characters of LaTeX"}


def _figure():
    import os
    import sys

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")  # headless command line; never switch a notebook's inline backend
    import matplotlib.pyplot as plt

    return plt


def swell_plot(sw, path=None, metric: str = "ops"):
    """Size of each form of the gradient against depth; saved to ``path`` if given."""

    plt = _figure()
    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=110)
    top, gave_up = 1, {}
    for name, style in STYLE.items():
        xs, ys = [], []
        for r in sw.rows:
            o = r["forms"][name]
            if o["status"] == "ok" and o[metric]:
                xs.append(r["n"])
                ys.append(o[metric])
            elif o["status"].startswith("gave up") and name not in gave_up:
                gave_up[name] = (r["n"], ys[-1] if ys else 1)
        if not xs and name not in gave_up:
            continue
        top = max([top] + ys)
        ax.plot(xs, ys, label=LABEL[name], **style)
        if xs:
            ax.annotate(f"{ys[-1]:,}", (xs[-1], ys[-1]), textcoords="offset points", xytext=(6, 2),
                        fontsize=9, color=style["color"])
        if name in gave_up:
            ax.plot(*gave_up[name], marker="x", markersize=12, markeredgewidth=3,
                    color=style["color"], linestyle="none")
    spots: dict = {}
    for name, (n, y) in gave_up.items():
        spots.setdefault((n, y), []).append(name)
    for (n, y), names in spots.items():
        ax.annotate(f"{' and '.join(names)}\ngave up after {sw.budget:g} s", (n, y),
                    textcoords="offset points", xytext=(0, 14), ha="center", fontsize=9,
                    color="#333333", bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.8))
    ax.set_yscale("log")
    ax.set_xlabel("depth n", fontsize=12)
    ax.set_ylabel(METRIC_LABEL.get(metric, metric) + " (log scale)", fontsize=12)
    fam = family(sw.family)
    ax.set_title(f"{sw.family}: {fam.math or fam.title}\nsize of the gradient as depth grows "
                 f"(x: gave up after {sw.budget:g} s)", fontsize=12)
    ns = [r["n"] for r in sw.rows]
    if ns and len(ns) <= 20:
        ax.set_xticks(ns)
    if ns:
        ax.set_xlim(min(ns) - 0.3, max(ns) + 0.9)
    ax.set_ylim(bottom=0.8, top=top * 3)
    ax.grid(True, which="major", alpha=0.4)
    ax.grid(True, which="minor", alpha=0.1)
    ax.legend(loc="upper left", fontsize=10, framealpha=0.9)
    fig.tight_layout()
    if path:
        fig.savefig(path)
        plt.close(fig)
    return fig


def cost_plot(rows, path=None):
    """Numeric (finite differences) against analytic (staged backward) gradient cost by d."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    ds = [r["d"] for r in rows]
    ax.plot(ds, [r["fd_ops"] for r in rows], marker="o", color="#d62728", linewidth=2,
            label="finite differences: (d^2 + 1) forward passes  ~ d^4")
    ax.plot(ds, [r["staged_ops"] for r in rows], marker="o", color="#2ca02c", linewidth=3,
            label="staged: forward + backward ops  ~ d^2")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(ds)
    ax.set_xticklabels([str(d) for d in ds])
    ax.set_xlabel("d (layer width)", fontsize=12)
    ax.set_ylabel("operations for dl/dW1 (log scale)", fontsize=12)
    ax.set_title("two-layer loss: numeric vs analytic gradient cost", fontsize=13)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", fontsize=10)
    fig.tight_layout()
    if path:
        fig.savefig(path)
        plt.close(fig)
    return fig
