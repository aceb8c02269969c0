"""A non-scalar output starts the backward pass from its upstream gradient ``d<out>`` (CS231n's
``dout``): ``prog.run(..., upstream=array)``, a parameter of the printed function, ``--upstream``
on the command line. Every case is checked against central differences of ``sum(out * dout)``,
component-wise ``sympy.diff``, the product of the lines' Jacobians and the published
hand-written backward pass where there is one."""
import os
import subprocess
import sys

import numpy as np
import pytest

from derive import DeriveError, stage
from derive.symbolic.jacobians import central_differences, check_arrays, jacobian_gradient, sympy_gradient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

AFFINE = '''def affine_forward(x, w, b):
    out = x @ w + b
    return out
'''
RELU = '''def relu_forward(x):
    out = np.maximum(0, x)
    return out
'''
LAYER = '''def layer(W, x, b):
    h = np.tanh(W @ x + b)
    return h * h
'''
CASES = [
    (AFFINE, {"x": (4, 3), "w": (3, 2), "b": (2,)}),
    (AFFINE, {"x": (3,), "w": (3, 2), "b": (2,)}),
    (RELU, {"x": (3, 4)}),
    (LAYER, {"W": (2, 3), "x": (3, 2), "b": (2, 1)}),
    (LAYER, {"W": (2, 3), "x": (3,), "b": (2,)}),
]
IDS = ["affine", "affine-1d", "relu", "layer-bias-column", "layer-1d"]


def _point(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return {k: rng.normal(size=s) for k, s in shapes.items()}


@pytest.mark.parametrize("src, shapes", CASES, ids=IDS)
def test_vjp_matches_central_differences_and_sympy(src, shapes):
    prog = stage(src, shapes=shapes)  # shapes: np.maximum alone reads as scalar code too
    arrays = _point(shapes)
    spec = prog.with_shapes(shapes)
    assert spec.upstream is not None and spec.upstream.name.startswith("d")
    dout = np.random.default_rng(1).normal(size=spec.shapes[spec.output.name])
    res = prog.run(**arrays, upstream=dout)
    assert res.value.shape == dout.shape
    fd = central_differences(prog, arrays, upstream=dout)
    by_diff = sympy_gradient(prog, arrays, dout)
    by_jac = jacobian_gradient(prog, arrays, dout)
    for k in shapes:
        assert res.grad[k].shape == arrays[k].shape, k
        np.testing.assert_allclose(res.grad[k], fd[k], rtol=1e-6, atol=1e-8, err_msg=k)
        np.testing.assert_allclose(res.grad[k], by_diff[k], rtol=1e-10, atol=1e-12, err_msg=k)
        np.testing.assert_allclose(res.grad[k], by_jac[k], rtol=1e-10, atol=1e-12, err_msg=k)
    assert check_arrays(prog, shapes, seed=3).ok


def test_affine_equals_the_published_backward():
    """CS231n's affine_backward: dx = dout @ w.T, dw = x.T @ dout, db = dout.sum(axis=0)."""
    arrays = _point({"x": (5, 4), "w": (4, 3), "b": (3,)})
    dout = np.random.default_rng(2).normal(size=(5, 3))
    g = stage(AFFINE).run(**arrays, upstream=dout).grad
    np.testing.assert_allclose(g["x"], dout @ arrays["w"].T, rtol=1e-12)
    np.testing.assert_allclose(g["w"], arrays["x"].T @ dout, rtol=1e-12)
    np.testing.assert_allclose(g["b"], dout.sum(axis=0), rtol=1e-12)


def test_printed_function_takes_dout():
    spec = stage(AFFINE).with_shapes(x=(4, 3), w=(3, 2), b=(2,))
    text = spec.to_python()
    assert "def affine_forward_and_grad(x, w, b, dout):" in text
    assert "    db = np.sum(dout, axis=0)" in text
    ns = {}
    exec(compile(text, "<printed by derive>", "exec"), ns)  # derive's printed code
    arrays = _point({"x": (4, 3), "w": (3, 2), "b": (2,)})
    dout = np.random.default_rng(4).normal(size=(4, 2))
    out, grad = ns["affine_forward_and_grad"](**arrays, dout=dout)
    np.testing.assert_allclose(out, arrays["x"] @ arrays["w"] + arrays["b"])
    fd = central_differences(stage(AFFINE), arrays, upstream=dout)
    for k in arrays:
        np.testing.assert_allclose(grad[k], fd[k], rtol=1e-6, atol=1e-8)


def test_upstream_errors_are_one_line():
    prog = stage(AFFINE)
    arrays = _point({"x": (4, 3), "w": (3, 2), "b": (2,)})
    with pytest.raises(DeriveError, match=r"returns an array of shape \(4, 2\), not one number"):
        prog.run(**arrays)
    with pytest.raises(DeriveError, match=r"upstream must be a real array of shape \(4, 2\)"):
        prog.run(**arrays, upstream=np.ones((2, 4)))
    with pytest.raises(DeriveError, match="upstream= is for functions whose output is an array"):
        stage("def f(x):\n    return np.sum(x * x)\n").run(x=np.ones(3), upstream=np.ones(()))
    with pytest.raises(DeriveError, match="upstream= is for functions whose output is an array"):
        stage("x * y").run(x=1.0, y=2.0, upstream=1.0)


def test_cli_upstream(tmp_path):
    path = tmp_path / "layers.py"
    path.write_text("import numpy as np\n\n\n" + AFFINE)
    at = "x=[[1,2],[3,4],[5,-6]],w=[[1,0.5],[-1,2]],b=[0.1,0.2]"

    def derive(*args):
        return subprocess.run([sys.executable, "-m", "derive", "stage", f"{path}:affine_forward", *args],
                              capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, PYTHONPATH=ROOT))
    out = derive("--at", at, "--upstream", "[[1,0],[0,1],[2,-1]]", "--check")
    assert out.returncode == 0, out.stderr
    assert "gradient (vector-Jacobian products with dout)" in out.stdout
    assert "  db = [3. 0.]" in out.stdout and "OK" in out.stdout
    bad = derive("--at", at)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "upstream" in bad.stderr
