"""Size metrics, measured the same way for symbolic gradients and for staged programs.

For a list of expressions (the components of a gradient):
``ops`` (SymPy ``count_ops``), ``tree`` (nodes of the expression trees, a shared subtree
counted every time it appears), ``dag`` (distinct subexpressions: shared subtrees counted
once), ``chars`` (characters of the printed Python) and ``latex`` (characters of the LaTeX).
A CSE'd form is measured over its replacements and reduced expressions. A staged program is
measured over its lines, and also reports forward/backward lines and operations and the
cost ratio backward ops / forward ops. Walks are iterative (no recursion limit).
"""
from __future__ import annotations

import sympy as sp

from derive.printing.printers import CodePrinter, LatexPrinter, code_lines, latex_program

METRICS = ("ops", "tree", "dag", "chars", "latex")


def count_ops(exprs) -> int:
    """Operations as SymPy counts them (``sympy.count_ops``), summed over the expressions."""
    return sum(int(sp.count_ops(e, visual=False)) for e in exprs)


def tree_nodes(exprs) -> int:
    """Nodes of the expression trees, counted with repetition (computed over the DAG, exactly)."""
    size: dict = {}
    for root in exprs:
        stack = [(root, False)]
        while stack:
            e, done = stack.pop()
            if e in size:
                continue
            if done or not e.args:
                size[e] = 1 + sum(size[a] for a in e.args)
            else:
                stack.append((e, True))
                stack.extend((a, False) for a in e.args if a not in size)
    return sum(size[e] for e in exprs)


def dag_nodes(exprs) -> int:
    """Distinct subexpressions over all the expressions (a shared subtree counts once)."""
    seen: set = set()
    stack = list(exprs)
    while stack:
        e = stack.pop()
        if e in seen:
            continue
        seen.add(e)
        stack.extend(e.args)
    return len(seen)


def expression_metrics(exprs) -> dict:
    """All metrics of a list of expressions (a gradient's components), printed one per line."""
    exprs = [sp.sympify(e) for e in exprs]
    cp, lp = CodePrinter(), LatexPrinter()
    return {
        "ops": count_ops(exprs),
        "tree": tree_nodes(exprs),
        "dag": dag_nodes(exprs),
        "chars": sum(len(cp.doprint(e)) for e in exprs),
        "latex": sum(len(lp.doprint(e)) for e in exprs),
    }


def cse_metrics(replacements, reduced) -> dict:
    """Metrics of a CSE'd gradient: the ``xk = ...`` lines plus the reduced expressions."""
    rhs = [v for _, v in replacements] + list(reduced)
    out = expression_metrics(rhs)
    cp, lp = CodePrinter(), LatexPrinter()
    out["chars"] += sum(len(cp.doprint(s)) + 3 for s, _ in replacements)   # "x0 = "
    out["latex"] += sum(len(lp.doprint(s)) + 3 for s, _ in replacements)   # "x_0 = "
    out["lines"] = len(replacements) + len(reduced)
    return out


def program_metrics(prog) -> dict:
    """Metrics of a staged program: forward + backward lines, measured like expressions.

    ``ops`` is forward_ops + backward_ops (a ``+=`` counts one addition), ``tree`` and
    ``dag`` count the right-hand sides, ``chars`` the printed Python lines (no comments),
    ``latex`` the aligned LaTeX derivation.
    """
    rhs = [ln.rhs for ln in prog.forward] + [bl.expr for bl in prog.backward]
    fwd, bwd = prog.forward_ops, prog.backward_ops
    return {
        "ops": fwd + bwd,
        "tree": tree_nodes(rhs) + len(rhs),   # + the target of each line
        "dag": dag_nodes(rhs + [ln.target for ln in prog.forward] + [bl.target for bl in prog.backward]),
        "chars": len("\n".join(code_lines(prog, CodePrinter(), comments=False))),
        "latex": len(latex_program(prog)),
        "forward_lines": len(prog.forward),
        "backward_lines": len(prog.backward),
        "forward_ops": fwd,
        "backward_ops": bwd,
        "ratio": round(bwd / fwd, 3) if fwd else None,
    }
