"""The learner's own gradients (``return loss, dW``) compared with the generated ones at a run.

A function that returns its hand-written gradient next to its value (``return loss, dx``,
CS231n's ``svm_loss_vectorized``) gets a free check: the reader keeps the returned ``d<param>``
lines (``Graph.handwritten``), and every run says whether they agree with derive's gradient.
"""
from __future__ import annotations

import numpy as np

RTOL, ATOL = 1e-7, 1e-9


def compare_handwritten(prog, values, grad) -> dict:
    """{param: (agrees, largest absolute difference, the learner's name)} at one run."""
    staged = prog.staged
    out = {}
    for param, node in getattr(staged.g, "handwritten", {}).items():
        name = staged.names.get(node)
        if name not in values or param not in grad:
            continue
        mine, theirs = np.asarray(grad[param], dtype=float), np.asarray(values[name], dtype=float)
        if mine.shape != theirs.shape:
            out[param] = (False, float("inf"), name)
            continue
        diff = float(np.max(np.abs(mine - theirs))) if mine.size else 0.0
        out[param] = (bool(np.allclose(theirs, mine, rtol=RTOL, atol=ATOL)), diff, name)
    return out


def handwritten_notes(prog, values, grad) -> list:
    """One note per returned hand-written gradient: agrees, or where and by how much not."""
    notes = []
    for param, (ok, diff, name) in compare_handwritten(prog, values, grad).items():
        if ok:
            notes.append(f"your {name} agrees with the generated gradient of {param} "
                         f"(largest difference {diff:.1e})")
        elif diff == float("inf"):
            notes.append(f"your {name} has shape {np.shape(values[name])}, but {param} has shape "
                         f"{np.shape(grad[param])}: it is not its gradient")
        else:
            notes.append(f"your {name} differs from the generated gradient of {param} "
                         f"(largest difference {diff:.3g}): check your backward lines")
    return notes
