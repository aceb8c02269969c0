"""``wrt=`` (``derive.stage(..., wrt=[...])``, CLI ``--wrt``): only the named inputs are
differentiated, so data inputs such as ``X`` get no adjoint lines; the gradients that remain
are the full program's (and central differences')."""
import os
import subprocess
import sys

import numpy as np
import pytest

import derive
from derive import DeriveError
from derive.oracle.central import central_difference
from derive.teach.iris import NETWORK
from tests.test_real_code import _point, corpus

SHAPES = dict(X=(6, 4), W1=(4, 5), b1=(5,), W2=(5, 3), b2=(3,), y=(6,))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_data_inputs_get_no_adjoint_lines_and_the_rest_is_unchanged():
    full = derive.stage(NETWORK, shapes=SHAPES)
    part = derive.stage(NETWORK, shapes=SHAPES, wrt=["W1", "b1", "W2", "b2"])
    assert "dX = " in full.backward_code() and "dX" not in part.backward_code().replace("dXW1", "")
    assert list(part.grads) == ["W1", "b1", "W2", "b2"] and part.labels == ["y"]
    assert part.forward_code() == full.forward_code()
    point = _point(SHAPES, 0, ("y", 3))
    a, b = part.run(**point), full.run(**point)
    assert a.value == b.value and set(a.grad) == {"W1", "b1", "W2", "b2"}
    for k, g in a.grad.items():
        np.testing.assert_allclose(g, b.grad[k], rtol=1e-12, atol=0)
        fd = central_difference(lambda pt: derive.stage(NETWORK).run(**pt).value, point, k)
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7)


def test_wrt_keeps_only_the_lines_towards_one_input():
    part = derive.stage(NETWORK, shapes=SHAPES, wrt="W2")
    assert list(part.grads) == ["W2"]
    text = part.backward_code()
    assert "dW2 = " in text and "dW1" not in text and "db1" not in text and "db2" not in text


def test_wrt_given_before_the_shapes_holds_after_them():
    part = derive.stage(NETWORK, wrt=["W1"])
    point = _point(SHAPES, 1, ("y", 3))
    assert set(part.run(**point).grad) == {"W1"}
    assert list(part.with_shapes({k: v.shape for k, v in point.items()}).grads) == ["W1"]


def test_wrt_on_a_corpus_loss_with_its_own_gradient():
    shapes = dict(W=(3, 4), X=(5, 3), y=(5,), reg=())
    prog = corpus("linear_classifiers", "softmax_loss_vectorized", shapes=shapes)
    part = derive.stage(prog, wrt=["W", "reg"])
    point = _point(shapes, 2, ("y", 4))
    point["reg"] = np.asarray(0.1)
    res = part.run(**point)
    assert set(res.grad) == {"W", "reg"} and "dX" not in part.backward_code()
    assert res.notes == prog.run(**point).notes  # the notes on the function's own dW are the same
    np.testing.assert_allclose(res.grad["W"], prog.run(**point).grad["W"], rtol=1e-12)


@pytest.mark.parametrize("wrt, message", [
    (["Z"], "wrt names Z, which is not an input; the inputs are X, W1, b1, W2, b2, y"),
    (["y"], "wrt names y, which gets no gradient"),
    ([], "wrt must name inputs"),
    ([3], "wrt must name inputs"),
])
def test_bad_wrt_is_one_line(wrt, message):
    with pytest.raises(DeriveError) as err:
        derive.stage(NETWORK, shapes=SHAPES, wrt=wrt)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_wrt_on_a_function_of_numbers_says_it_is_for_arrays():
    with pytest.raises(DeriveError, match="wrt= is for functions over arrays"):
        derive.stage("x*y + sin(x)", wrt=["x"])


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli_wrt(tmp_path):
    f = tmp_path / "net.py"
    f.write_text(NETWORK)
    shapes = "X=6x4,W1=4x5,b1=5,W2=5x3,b2=3,y=6"
    ok = _cli("stage", f"{f}:iris_loss", "--shapes", shapes, "--wrt", "W1, b1")
    assert ok.returncode == 0, ok.stderr
    assert "dW1 = " in ok.stdout and "dX = " not in ok.stdout and "dW2 = " not in ok.stdout
    bad = _cli("stage", f"{f}:iris_loss", "--shapes", shapes, "--wrt", "W9")
    assert bad.returncode == 2 and "wrt names W9" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
