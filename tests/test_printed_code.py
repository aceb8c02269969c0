"""What ``derive stage --format python`` prints is run, and its gradient is compared with central
differences, for every input kind: scalar strings, scalar functions (numbers and lists) and
array functions (1-D, 2-D, a broadcast bias). A program without shapes refuses in one line."""
import os
import subprocess
import sys

import numpy as np
import pytest

from derive.oracle.central import central_gradient
from derive.symbolic.examples import NEURON_CODE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ARRAYS = '''import numpy as np


def layer(W, x, b):
    return np.sum(np.tanh(W @ x + b))


def plain(W, x):
    return np.sum(np.tanh(W @ x))


def batch(X, W, b):
    return np.sum(np.tanh(X @ W + b) ** 2)
'''

SCALAR_FUNCTION = '''def f(x, y):
    a = x * y
    s = sigmoid(a)
    return s + x ** 2 - a / y
'''


def _derive(*args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def _printed(tmp_path, target, at):
    out = _derive("stage", target, "--at", at, "--format", "python")
    assert out.returncode == 0, out.stderr
    ns = {}
    exec(compile(out.stdout, "<printed by derive>", "exec"), ns)  # derive's printed code
    return next(v for k, v in ns.items() if k.endswith("_and_grad"))


def _agrees(fn, point):
    value, grad = fn(**point)
    numeric = central_gradient(lambda p: fn(**p)[0], point, relative=True)
    for name, g in numeric.items():
        assert np.shape(grad[name]) == np.shape(g), name
        assert np.allclose(grad[name], g, rtol=1e-5, atol=1e-7), name
    return value


def test_scalar_string(tmp_path):
    fn = _printed(tmp_path, "(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)", "x=3,y=-4")
    assert _agrees(fn, {"x": 3.0, "y": -4.0}) == pytest.approx(1.5456448841066441)


def test_scalar_function_with_list_inputs(tmp_path):
    path = tmp_path / "neuron.py"
    path.write_text(NEURON_CODE)
    fn = _printed(tmp_path, f"{path}:neuron", "w=[2,-3,-3],x=[-1,-2]")
    _agrees(fn, {"w": [2.0, -3.0, -3.0], "x": [-1.0, -2.0]})


def test_scalar_function_with_number_inputs(tmp_path):
    path = tmp_path / "f.py"
    path.write_text(SCALAR_FUNCTION)
    fn = _printed(tmp_path, f"{path}:f", "x=0.7,y=-1.3")
    value = _agrees(fn, {"x": 0.7, "y": -1.3})
    assert value == pytest.approx(1 / (1 + np.exp(0.7 * 1.3)) + 0.49 - 0.7)


@pytest.mark.parametrize("func, at", [
    ("plain", {"W": [[1, 2], [3, -4]], "x": [0.5, -0.25]}),                       # 1-D x
    ("plain", {"W": [[1, 2], [3, -4]], "x": [[0.5, 1.0], [-0.25, 2.0]]}),         # 2-D x
    ("layer", {"W": [[1, 2], [3, -4]], "x": [0.5, -0.25], "b": [0.1, -0.2]}),     # 1-D bias
    ("layer", {"W": [[1, 2], [3, -4]], "x": [[0.5, 1.0, 0.0], [-0.25, 2.0, 1.0]],
               "b": [[0.1], [-0.2]]}),                                            # bias (2, 1)
    ("batch", {"X": [[0.5, 1.0], [-0.25, 2.0], [1.5, -1.0]], "W": [[1, 2], [3, -4]],
               "b": [0.1, -0.2]}),                                               # bias over rows
], ids=["1-D", "2-D", "bias", "broadcast-bias", "batch-bias"])
def test_array_function(tmp_path, func, at):
    path = tmp_path / "arrays.py"
    path.write_text(ARRAYS)
    text = ",".join(f"{k}={v}".replace(" ", "") for k, v in at.items())
    fn = _printed(tmp_path, f"{path}:{func}", text)
    point = {k: np.array(v, dtype=float) for k, v in at.items()}
    if func == "batch":
        ref = np.sum(np.tanh(point["X"] @ point["W"] + point["b"]) ** 2)
    else:
        ref = np.sum(np.tanh(point["W"] @ point["x"] + point.get("b", 0.0)))
    assert _agrees(fn, point) == pytest.approx(ref)


def test_api_prints_what_the_shapes_need():
    """``prog.to_python()`` in Python: shape-free arrays refuse; specialised ones run and agree."""
    from derive import DeriveError, stage

    prog = stage(ARRAYS.split("\n\n\n")[2])          # plain(W, x)
    with pytest.raises(DeriveError, match="depends on the input shapes") as err:
        prog.to_python()
    assert "\n" not in str(err.value)
    for x in ([0.5, -0.25], [[0.5, 1.0], [-0.25, 2.0]]):
        point = {"W": np.array([[1.0, 2.0], [3.0, -4.0]]), "x": np.array(x)}
        ns = {}
        exec(compile(prog.with_shapes({k: v.shape for k, v in point.items()}).to_python(),
                     "<printed by derive>", "exec"), ns)  # derive's printed code
        assert _agrees(ns["plain_and_grad"], point) == pytest.approx(np.sum(np.tanh(point["W"] @ point["x"])))
    ns = {}
    exec(compile(stage(SCALAR_FUNCTION).to_python(), "<printed by derive>", "exec"), ns)
    _agrees(ns["f_and_grad"], {"x": 0.7, "y": -1.3})


def test_array_function_without_shapes_refuses_in_one_line(tmp_path):
    path = tmp_path / "arrays.py"
    path.write_text(ARRAYS)
    out = _derive("stage", f"{path}:plain", "--format", "python")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "depends on the input shapes" in out.stderr
