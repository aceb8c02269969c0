"""Known-wrong variants of a staged backward pass, each with a label and one plain sentence.

A learner's numbers are matched against these variants (``derive.teach.feedback``): if a wrong
adjoint equals the value a variant computes, the variant's label names the mistake. Variants
are made by editing the reference program's lines (it is data), never by storing numbers:
one line's ``+=`` made ``=``, one local gradient's sign flipped, one upstream factor dropped,
the sigmoid's local gradient taken as sigma, the sigmoid's forward line written ``1/1 + exp(-x)``.
Mistakes in single lines, several at once, are found line by line by ``derive.teach.diagnosis``.
"""
from __future__ import annotations

import itertools
from dataclasses import replace

import sympy as sp

from derive.staging.staged import Program

LABELS = {
    "fork-overwrite": "A variable used in several places collects gradient from every use: "
                      "where it forks write `+=`, because `=` throws away what the other uses added.",
    "sigmoid-local-gradient": "The local gradient of the sigmoid is s * (1 - s), where s is the "
                              "sigmoid's output, not s itself.",
    "missing-upstream": "Each backward line is local gradient times upstream gradient (the chain "
                        "rule): a line with only the local gradient forgets everything after it.",
    "sign": "A sign is flipped: check local gradients that carry a minus sign, e.g. "
            "d(1/x)/dx = -1/x**2, not 1/x**2.",
    "transpose": "A gradient has the shape of its variable: for D = W @ X it is dW = dD @ X.T "
                 "and dX = W.T @ dD (use the shapes to find where the transpose goes).",
    "multiply-swap": "For z = a * b the local gradient of a is b (and of b is a): the multiply gate "
                     "swaps its inputs. Writing da = a * dz takes the swap backwards.",
    "power-rule": "The power rule: d(x**n)/dx = n * x**(n-1), e.g. d(x**2)/dx = 2*x; not "
                  "x**(n-1) and not n*x.",
    "wrong-local-gradient": "One gate's local gradient is wrong (its upstream gradient is right): "
                            "differentiate that gate's output with respect to this input again.",
    "return-order": "The values are right but returned in the wrong order: return them in the "
                    "order the exercise asks for.",
    "loop-overwrite": "A weight used at every step of a loop collects gradient from every step: in the "
                      "backward loop write dW += ..., because dW = ... keeps only one step's term.",
    "loop-order": "The backward loop runs over the steps in reverse, for t in reversed(range(T)): step t "
                  "needs the gradient carried back from step t + 1 and the values stored at step t.",
    "loop-carry": "The gradient flows back through the loop: each step's upstream gradient includes "
                  "what the step after sent back (dh[:, t] + dprev in an RNN), and each step passes its "
                  "own on to the step before (dh = w * da; dprev = da @ Wh.T).",
    "precedence": "Operator precedence: 1 / 1 + exp(-x) means (1/1) + exp(-x); the sigmoid "
                  "needs parentheses, 1 / (1 + exp(-x)).",
}

MAX_FORK = 5  # subsets of at most 2**5 contributions per forked variable


def _with(prog, forward=None, backward=None):
    return Program(prog.inputs, prog.params, forward or prog.forward, backward or prog.backward,
                   prog.output, prog.adjoints, prog.gates, prog.source)


def program_variants(prog) -> list:
    """[(label, Program)]: each a single known mistake applied to the reference program."""
    out = []
    ops = {ln.number: ln for ln in prog.forward}
    back = prog.backward
    for i, bl in enumerate(back):
        def edited(**change):
            return _with(prog, backward=back[:i] + [replace(bl, **change)] + back[i + 1:])

        if bl.accumulate:
            out.append(("fork-overwrite", edited(accumulate=False)))
        if ops[bl.ref].op == "sigmoid":
            out.append(("sigmoid-local-gradient", edited(local=ops[bl.ref].target)))
        if bl.upstream is not None:
            out.append(("missing-upstream", edited(upstream=None)))
        if bl.local != 0:
            out.append(("sign", edited(local=sp.Mul(-1, bl.local))))
    if any(bl.accumulate for bl in back):
        out.append(("fork-overwrite", _with(prog, backward=[replace(b, accumulate=False) for b in back])))
    if any(bl.upstream is not None for bl in back):
        out.append(("missing-upstream", _with(prog, backward=[replace(b, upstream=None) for b in back])))
    sig = [ln for ln in prog.forward if ln.op == "sigmoid"]
    if sig:
        sig_back = [replace(b, local=ops[b.ref].target) if ops[b.ref].op == "sigmoid" else b for b in back]
        out.append(("sigmoid-local-gradient", _with(prog, backward=sig_back)))
    for ln in sig:
        wrong = replace(ln, rhs=1 + sp.exp(-ln.args[0]))
        fwd = [wrong if f is ln else f for f in prog.forward]
        out.append(("precedence", _with(prog, forward=fwd)))
        out.append(("precedence", _with(prog, forward=fwd, backward=sig_back)))
    return out


def contributions(prog, result) -> dict:
    """{adjoint name: [value added by each backward line that writes it]} from a run's steps."""
    out, last = {}, {}
    for bl, value in zip(prog.backward, result.steps):
        name = bl.target.name
        out.setdefault(name, []).append(value - last.get(name, 0.0))
        last[name] = value
    return out


def partial_sums(parts) -> list:
    """Sums of the proper non-empty subsets of a fork's contributions (what `=` would keep)."""
    if len(parts) < 2 or len(parts) > MAX_FORK:
        return []
    sums = []
    for k in range(1, len(parts)):
        for combo in itertools.combinations(range(len(parts)), k):
            sums.append(sum(parts[j] for j in combo))
    return sums
