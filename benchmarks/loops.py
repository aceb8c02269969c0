"""Loops: unrolled staging time and one evaluation, by hand: python benchmarks/loops.py

1. Unrolled staging (``derive.stage(f, unroll=True)``) of a scalar recurrence
   ``h = tanh(h * w + x)`` over T = 10, 100 and 1,000 iterations (target: 1,000 under 2 s).
2. CS231n's ``svm_loss_naive`` and ``softmax_loss_naive`` (tests/data/loops) unrolled at a point
   (N = 20, D = 8, C = 4): staging time, and one run of the staged program against one call of
   the published function (which computes the same gradient itself).
3. Rolled (the default): staging ``rnn_loss`` (``rnn_step_forward`` called over time,
   tests/data/loops/rnn_layers.py) at T = 10 and T = 1,000 (target: about the same), and one
   evaluation of the rolled program (forward and backward) against the published
   ``rnn_forward`` + ``rnn_backward`` at N = 32, T = 50, D = H = 64 (target: within 1.5x).
4. Rolled, lists and arrays filled over time: the published ``rnn_forward`` (``np.zeros((N, T, H))``,
   ``h[:, t, :] = next_h``), ``rnn_forward_list`` (``h = [h0]``, ``h[t]``, ``np.stack(h[1:], axis=1)``)
   and ``rnn_forward_stacked`` (``h.append(next_h)``, ``np.stack(h, axis=1)``): staging at T = 10
   and T = 1,000, and one evaluation with the upstream ``dh`` against the published pair.
"""
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import derive  # noqa: E402
from tests.data.loops.linear_svm import svm_loss_naive  # noqa: E402
from tests.data.loops.softmax import softmax_loss_naive  # noqa: E402
from tests.data.loops import rnn_layers  # noqa: E402
from derive.staging.arrays import stage_arrays  # noqa: E402

RECURRENCE = """
def f(x, w):
    h = x
    for t in range(T):
        h = tanh(h * w + x)
    return h
"""


def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    for T in (10, 100, 1000):
        src = RECURRENCE.replace("range(T)", f"range({T})")
        secs, prog = best(lambda: derive.stage(src, unroll=True))
        run, _ = best(lambda: prog.run(x=0.3, w=0.9))
        print(f"recurrence T={T:5d}: unrolled staging {secs:.3f} s ({len(prog.forward)} forward lines), "
              f"one run {run * 1e3:.1f} ms")
    rng = np.random.default_rng(0)
    point = dict(W=rng.standard_normal((8, 4)) * 0.3, X=rng.standard_normal((20, 8)),
                 y=rng.integers(0, 4, 20), reg=0.1)
    for fn in (svm_loss_naive, softmax_loss_naive):
        secs, prog = best(lambda: derive.stage(fn, unroll=True, at=point), repeat=1)
        f, _, _ = prog.compiled()
        args = [point[p] if p in prog.labels else np.asarray(point[p], dtype=float) for p in prog.param_names]
        ours, _ = best(lambda: f(*args), repeat=5)
        theirs, _ = best(lambda: fn(**point), repeat=5)
        print(f"{fn.__name__} N=20 D=8 C=4: unrolled staging {secs:.2f} s ({len(prog.forward)} forward lines); "
              f"one run {ours * 1e3:.2f} ms vs the published function {theirs * 1e3:.2f} ms")


def rnn_point(N, T, D, H, seed=0):
    rng = np.random.default_rng(seed)
    return dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((N, H)),
                Wx=rng.standard_normal((D, H)) * 0.1, Wh=rng.standard_normal((H, H)) * 0.1,
                b=rng.standard_normal(H), dh=rng.standard_normal((N, T, H)))


def rolled():
    text = rnn_layers.source()
    for T in (10, 1000):
        point = rnn_point(4, T, 8, 8)
        shapes = {k: v.shape for k, v in point.items()}
        secs, prog = best(lambda: stage_arrays(text, shapes=shapes, name="rnn_loss"))
        print(f"rnn_loss rolled, T={T:5d}: staging {secs:.3f} s ({len(prog.forward)} forward lines)")
    point = rnn_point(32, 50, 64, 64)
    prog = stage_arrays(text, shapes={k: v.shape for k, v in point.items()}, name="rnn_loss")
    prog.run(**point)  # compiled once
    ours, theirs = side_by_side(lambda: prog.run(**point), published_pair(point))
    print(f"one evaluation at N=32, T=50, D=H=64: rolled program {ours * 1e3:.1f} ms, published "
          f"rnn_forward + rnn_backward {theirs * 1e3:.1f} ms ({ours / theirs:.2f}x)")


def published_pair(point):
    """The published rnn_forward + rnn_backward at ``point`` (upstream ``dh``), as one call."""
    args = [point[k] for k in ("x", "h0", "Wx", "Wh", "b")]

    def published():
        h, cache = rnn_layers.rnn_forward(*args)
        return rnn_layers.rnn_backward(point["dh"], cache)
    return published


def side_by_side(ours, theirs, rounds=3):
    """Best times of two calls measured in alternating rounds, so load falls on both alike."""
    rows = [(best(ours, repeat=5)[0], best(theirs, repeat=5)[0]) for _ in range(rounds)]
    return min(r[0] for r in rows), min(r[1] for r in rows)


def rolled_lists():
    text = rnn_layers.source()
    point = rnn_point(32, 50, 64, 64)
    for name in ("rnn_forward", "rnn_forward_list", "rnn_forward_stacked"):
        for T in (10, 1000):
            small = {k: v.shape for k, v in rnn_point(4, T, 8, 8).items() if k != "dh"}
            secs, prog = best(lambda: stage_arrays(text, shapes=small, name=name))
            print(f"{name} rolled, T={T:5d}: staging {secs:.3f} s ({len(prog.forward)} forward lines)")
        shapes = {k: v.shape for k, v in point.items() if k != "dh"}
        prog = stage_arrays(text, shapes=shapes, name=name)
        given = {k: v for k, v in point.items() if k != "dh"}
        prog.run(upstream=point["dh"], **given)  # compiled once
        ours, theirs = side_by_side(lambda: prog.run(upstream=point["dh"], **given), published_pair(point))
        print(f"{name} at N=32, T=50, D=H=64: rolled program {ours * 1e3:.1f} ms, published rnn_forward + "
              f"rnn_backward {theirs * 1e3:.1f} ms ({ours / theirs:.2f}x)")


if __name__ == "__main__":
    main()
    rolled()
    rolled_lists()
