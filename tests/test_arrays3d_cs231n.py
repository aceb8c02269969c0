"""CS231n's temporal layers staged as written (tests/data/cs231n/rnn_temporal.py, assignment 3's
rnn_layers.py): the word embedding with (N, T) word indices, the temporal affine layer (3-D,
reshape) and the temporal softmax loss (3-D, reshape, a boolean mask, labels reshaped, its own
hand-written dx). Gradients equal the published backward functions to 1e-10 and central
differences; small sizes are also checked against component-wise sympy.diff."""
import importlib
import os
import subprocess
import sys

import numpy as np
import pytest

from derive.staging.arrays import stage_arrays
from derive.symbolic.jacobians import central_differences, check_arrays

PATH = os.path.join(os.path.dirname(__file__), "data", "cs231n", "rnn_temporal.py")
N, T, D, M, V = 3, 4, 5, 6, 7


def corpus(name, shapes):
    with open(PATH, encoding="utf-8") as fh:
        return stage_arrays(fh.read(), shapes=shapes, name=name, path=PATH)


def published(name):
    return getattr(importlib.import_module("tests.data.cs231n.rnn_temporal"), name)


def _rng(seed):
    return np.random.default_rng(seed)


def test_word_embedding_equals_word_embedding_backward():
    prog = corpus("word_embedding_forward", {"x": (N, T), "W": (V, D)})
    assert [str(ln) for ln in prog.forward] == ["out = W[x]"]
    assert [str(b) for b in prog.backward] == ["dW = np.zeros_like(W)", "np.add.at(dW, x, dout)"]
    assert prog.labels == ["x"] and prog.shapes["out"] == (N, T, D)
    x = _rng(0).integers(0, V, size=(N, T))
    x[0, :2] = x[1, 1] = 2                                  # repeated words: their gradients add
    W, dout = _rng(1).normal(size=(V, D)), _rng(2).normal(size=(N, T, D))
    res = prog.run(x=x, W=W, upstream=dout)
    out, cache = published("word_embedding_forward")(x, W)
    np.testing.assert_array_equal(res.value, out)
    np.testing.assert_allclose(res.grad["W"], published("word_embedding_backward")(dout, cache), rtol=1e-10, atol=1e-12)
    fd = central_differences(prog, {"x": x, "W": W}, upstream=dout)
    np.testing.assert_allclose(res.grad["W"], fd["W"], rtol=1e-7, atol=1e-8)


def test_temporal_affine_equals_temporal_affine_backward():
    prog = corpus("temporal_affine_forward", {"x": (N, T, D), "w": (D, M), "b": (M,)})
    fwd = [str(ln) for ln in prog.forward]
    assert "xr = x.reshape(NT, D)" in fwd and "xrwr = xrw.reshape(N, T, M)" in fwd
    back = [str(b) for b in prog.backward]
    assert "db = np.sum(dout, axis=(0, 1))" in back and "dx = dxr.reshape(x.shape)" in back
    x, w, b = _rng(3).normal(size=(N, T, D)), _rng(4).normal(size=(D, M)), _rng(5).normal(size=M)
    dout = _rng(6).normal(size=(N, T, M))
    res = prog.run(x=x, w=w, b=b, upstream=dout)
    out, cache = published("temporal_affine_forward")(x, w, b)
    np.testing.assert_allclose(res.value, out, rtol=1e-13)
    dx, dw, db = published("temporal_affine_backward")(dout, cache)
    for mine, theirs in ((res.grad["x"], dx), (res.grad["w"], dw), (res.grad["b"], db)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)
    fd = central_differences(prog, {"x": x, "w": w, "b": b}, upstream=dout)
    for k in fd:
        np.testing.assert_allclose(res.grad[k], fd[k], rtol=1e-6, atol=1e-8)
    small = check_arrays(corpus("temporal_affine_forward", {"x": (2, 2, 3), "w": (3, 2), "b": (2,)}), seed=1)
    assert small.ok and small.max_err_sympy is not None, small


@pytest.mark.parametrize("seed", [0, 1])
def test_temporal_softmax_loss_equals_its_published_dx(seed):
    prog = corpus("temporal_softmax_loss", {"x": (N, T, V), "y": (N, T), "mask": (N, T)})
    assert prog.labels == ["y"]                              # y.reshape(N * T) indexes: labels
    back = [str(b) for b in prog.backward]
    assert "np.add.at(dprobs_1, (rangeNT, y_flat), dprobs_1i)" in back
    assert "dt3 = mask_flat * dt4" in back and "d_x = d_x_flat.reshape(x.shape)" in back  # the mask carries it
    rng = _rng(10 + seed)
    x, y = rng.normal(size=(N, T, V)), rng.integers(0, V, size=(N, T))
    mask = rng.random((N, T)) > 0.4                          # boolean, as in the assignment
    res = prog.run(x=x, y=y, mask=mask)
    loss, dx = published("temporal_softmax_loss")(x, y, mask)
    assert res.value == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(res.grad["x"], dx, rtol=1e-10, atol=1e-12)
    assert any(n.startswith("your dx agrees with the generated gradient of x") for n in res.notes)
    fd = central_differences(prog, {"x": x, "y": y, "mask": mask.astype(float)})
    np.testing.assert_allclose(res.grad["x"], fd["x"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(res.grad["mask"], fd["mask"], rtol=1e-6, atol=1e-8)


def test_temporal_softmax_loss_small_matches_sympy_diff():
    prog = corpus("temporal_softmax_loss", {"x": (2, 2, 3), "y": (2, 2), "mask": (2, 2)})
    report = check_arrays(prog, seed=3)
    assert report.ok and report.max_err_sympy is not None, report


def test_cli_stages_the_temporal_softmax_loss():
    run = subprocess.run([sys.executable, "-m", "derive", "stage", f"{PATH}:temporal_softmax_loss", "--shapes",
                          "x=2x3x4,y=2x3,mask=2x3"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "x_flat = x.reshape(NT, V)" in run.stdout and "d_x = d_x_flat.reshape(x.shape)" in run.stdout
