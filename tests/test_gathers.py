"""Gathers and their scatters: slicing ``a[:, :H]``, ``x[0]``, ``x[1:]``, an integer-array index
``W[x]`` (backward ``np.add.at(dW, x, dout)``) and ``x[np.arange(N), y]``, as CS231n writes them.
Each is checked against central differences, component-wise ``sympy.diff`` and the published
hand-written backward pass where there is one; the printed code is run."""
import numpy as np
import pytest

from derive import stage
from derive.symbolic.jacobians import central_differences, check_arrays, sympy_gradient

EMBEDDING = '''def word_embedding_forward(x, W):
    out = W[x]
    return out
'''
SVM_PLAIN = '''def svm_loss(x, y):
    N = x.shape[0]
    correct = x[np.arange(N), y]
    scores = x.T - correct + 1.0
    return np.sum(np.maximum(scores, 0)) / N
'''
GATES = '''def gates(a, h):
    H = h.shape[1]
    i = sigmoid(a[:, :H])
    g = np.tanh(a[:, H:2 * H])
    return np.sum(i * g * h) + np.sum(a[0] ** 2) + np.sum(a[1:] * a[:-1])
'''


def _rng(seed=0):
    return np.random.default_rng(seed)


def test_embedding_scatters_with_np_add_at_like_cs231n():
    prog = stage(EMBEDDING, shapes={"x": (6,), "W": (4, 3)})
    text = prog.to_text()
    assert "out = W[x]" in text and "dW = np.zeros_like(W)" in text and "np.add.at(dW, x, dout)" in text
    x = np.array([0, 3, 3, 1, 0, 3])                   # repeated words: their gradients add
    W = _rng().normal(size=(4, 3))
    dout = _rng(1).normal(size=(6, 3))
    res = prog.run(x=x, W=W, upstream=dout)
    np.testing.assert_array_equal(res.value, W[x])
    ref = np.zeros_like(W)                               # CS231n's word_embedding_backward
    np.add.at(ref, x, dout)
    np.testing.assert_allclose(res.grad["W"], ref, rtol=1e-14)
    fd = central_differences(prog, {"x": x, "W": W}, upstream=dout)
    np.testing.assert_allclose(res.grad["W"], fd["W"], rtol=1e-7, atol=1e-9)
    assert prog.labels == ["x"]


def test_row_gather_with_arange():
    prog = stage(SVM_PLAIN, shapes={"x": (4, 3), "y": (4,)})
    assert any("np.add.at(" in str(bl) for bl in prog.backward)
    x = _rng(2).normal(size=(4, 3))
    y = np.array([2, 0, 1, 2])
    g = prog.run(x=x, y=y).grad["x"]
    np.testing.assert_allclose(g, central_differences(prog, {"x": x, "y": y})["x"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g, sympy_gradient(prog, {"x": x, "y": y})["x"], rtol=1e-10, atol=1e-12)


def test_slices_with_sizes_from_shapes():
    prog = stage(GATES, shapes={"a": (3, 4), "h": (3, 2)})
    back = [str(bl) for bl in prog.backward]
    assert back[6:8] == ["da = np.zeros_like(a)", "da[:-1] += dt6"]   # zeros, then slices add in
    assert "da[:, H:t1] += dt2" in back and "da[:, :H] += dai" in back and "da[0] += dt3" in back
    report = check_arrays(prog, seed=4)
    assert report.ok, report


@pytest.mark.parametrize("src, shapes", [
    (EMBEDDING, {"x": (5,), "W": (3, 2)}),
    (SVM_PLAIN, {"x": (3, 3), "y": (3,)}),
    (GATES, {"a": (2, 4), "h": (2, 2)}),
], ids=["embedding", "svm", "slices"])
def test_printed_code_runs_and_agrees(src, shapes):
    prog = stage(src, shapes=shapes)
    ns = {}
    exec(compile(prog.to_python(), "<printed by derive>", "exec"), ns)  # derive's printed code
    fn = next(v for k, v in ns.items() if k.endswith("_and_grad"))
    rng = _rng(5)
    arrays = {p: rng.integers(0, 2, size=s) if p in prog.labels else rng.normal(size=s)
              for p, s in shapes.items()}
    extra = {}
    if prog.upstream is not None:
        extra[prog.upstream.name] = rng.normal(size=prog.shapes[prog.output.name])
    value, grad = fn(**arrays, **extra)
    res = prog.run(**arrays, upstream=extra.get(prog.upstream.name) if extra else None)
    np.testing.assert_allclose(value, res.value)
    fd = central_differences(prog, arrays, upstream=res.adjoints.get(prog.upstream.name) if extra else None)
    for k in fd:
        np.testing.assert_allclose(grad[k], fd[k], rtol=1e-6, atol=1e-8, err_msg=k)


MASKED = '''def masked(x, w):
    h = x * w
    mask = h > 0
    return np.sum(h[mask] ** 2) + np.sum(x[x <= 0.5])
'''


def test_boolean_masks_scatter_with_plus_equals():
    """A mask never repeats an element: dh[mask] += ...; its gather's size depends on the data."""
    prog = stage(MASKED, shapes={"x": (3, 4), "w": (3, 4)})
    back = [str(bl) for bl in prog.backward]
    assert "dh[mask] += dhi" in back and not any("np.add.at" in s for s in back)
    line = next(ln for ln in prog.forward_code().split("\n") if ln.startswith("hi = h[mask] "))
    assert line.endswith("# (3) shape (?,)")
    arrays = {"x": _rng(6).normal(size=(3, 4)), "w": _rng(7).normal(size=(3, 4))}
    res = prog.run(**arrays)
    h = arrays["x"] * arrays["w"]
    assert res.value == pytest.approx(np.sum(h[h > 0] ** 2) + np.sum(arrays["x"][arrays["x"] <= 0.5]))
    fd = central_differences(prog, arrays)
    by_diff = sympy_gradient(prog, arrays)
    for k in arrays:
        np.testing.assert_allclose(res.grad[k], fd[k], rtol=1e-6, atol=1e-8, err_msg=k)
        np.testing.assert_allclose(res.grad[k], by_diff[k], rtol=1e-10, atol=1e-12, err_msg=k)
    assert check_arrays(prog, seed=8).ok
