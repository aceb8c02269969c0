"""Selects: ``np.where(mask, a, b)``, ``a if x > 0 else b`` on arrays and masks (``x * (x > 0)``),
where the condition is a comparison on the data. The forward line keeps the mask; the backward
lines carry it (``dx = np.where(mask, dout, 0)``, ``dx = mask * dout``). Gradients are checked
against central differences and component-wise sympy.diff; refusals are one line."""
import subprocess
import sys

import numpy as np
import pytest

from derive import stage
from derive.core.errors import DeriveError
from derive.symbolic.jacobians import central_differences, check_arrays

LEAKY = '''def leaky_relu(x, w):
    mask = x > 0
    out = np.where(mask, x, 0.01 * x)
    return np.sum(out * w)
'''
RELU_IFEXP = '''def relu(x):
    out = x if x > 0 else 0.0
    return np.sum(out ** 2)
'''
RELU_MASK = '''def relu_forward_backward(x, dout):
    mask = x > 0
    out = x * mask
    return np.sum(out * dout)
'''


def test_np_where_keeps_the_mask_forward_and_backward():
    prog = stage(LEAKY, shapes={"x": (2, 3, 2), "w": (2,)})
    fwd, back = [str(ln) for ln in prog.forward], [str(b) for b in prog.backward]
    assert fwd[:3] == ["mask = x > 0", "t1 = 0.01*x", "out = np.where(mask, x, t1)"]
    assert "dx = np.where(mask, dout, 0)" in back and "dt1 = np.where(mask, 0, dout)" in back
    assert "dx += 0.01 * dt1" in back
    report = check_arrays(prog, seed=1)
    assert report.ok and report.max_err_sympy is not None, report


def test_conditional_expression_on_arrays_is_a_select_with_a_note():
    prog = stage(RELU_IFEXP, shapes={"x": (3, 2)})
    assert "out = np.where(xgt0, x, 0.0)" in [str(ln) for ln in prog.forward]
    assert "dx = np.where(xgt0, dout, 0)" in [str(b) for b in prog.backward]
    assert any("staged as an elementwise select" in n for n in prog.notes)
    x = np.array([[1.0, -2.0], [0.5, -0.1], [3.0, 2.0]])
    res = prog.run(x=x)
    np.testing.assert_allclose(res.grad["x"], 2 * np.maximum(x, 0), rtol=1e-15)
    report = check_arrays(prog, seed=2)
    assert report.ok and report.max_err_sympy is not None, report


def test_mask_times_upstream_like_relu_backward():
    prog = stage(RELU_MASK, shapes={"x": (3, 4), "dout": (3, 4)})
    assert "dx = mask * ddout" in [str(b) for b in prog.backward] or \
        any(str(b).startswith("dx = mask * ") for b in prog.backward)
    rng = np.random.default_rng(3)
    x, dout = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    res = prog.run(x=x, dout=dout)
    np.testing.assert_allclose(res.grad["x"], dout * (x > 0), rtol=1e-15)  # CS231n's relu_backward
    report = check_arrays(prog, seed=4)
    assert report.ok and report.max_err_sympy is not None, report


@pytest.mark.parametrize("src, shapes", [
    ("def f(a, b):\n    return np.sum(np.sin(np.where(a < b, a * b, b)))\n", {"a": (2, 3, 2), "b": (3, 2)}),
    ("def f(a, b):\n    c = a if a >= b else b * 2.0\n    return np.sum(c * a)\n", {"a": (2, 2), "b": (2,)}),
    ("def f(x):\n    s = 1.0 if x > 0.5 else 0.0\n    return np.sum(s * np.exp(x))\n", {"x": (2, 3)}),
    ("def f(x):\n    return np.sum(np.where(x <= 0, np.exp(x) - 1, x) ** 2)\n", {"x": (4,)}),
], ids=["broadcast-condition", "ifexp-broadcast", "step-constant-sides", "elu"])
def test_selects_match_sympy_and_central_differences(src, shapes):
    prog = stage(src, shapes=shapes)
    assert "where" in {ln.op for ln in prog.forward}
    report = check_arrays(prog, seed=5)
    assert report.ok and report.max_err_sympy is not None, report


def test_configuration_condition_picks_a_side_now():
    src = "def f(x, mode):\n    y = np.tanh(x) if mode == 'train' else x\n    return np.sum(y)\n"
    prog = stage(src, shapes={"x": (2,)}, constants={"mode": "train"})
    assert "where" not in {ln.op for ln in prog.forward} and "tanh" in {ln.op for ln in prog.forward}
    assert any("is True, so `x` is not staged" in n for n in prog.notes)


@pytest.mark.parametrize("body, fragment", [
    ("return np.sum(x if x else 0.0)", "a conditional expression whose condition `x` is not a comparison"),
    ("return np.sum(np.where(x > 0, x))", "np.where() takes 3 arguments, got 2"),
])
def test_select_refusals_are_one_line(body, fragment):
    with pytest.raises(DeriveError) as err:
        stage(f"def f(x):\n    {body}\n", shapes={"x": (2, 2)})
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_cli_refuses_a_condition_that_is_not_a_comparison(tmp_path):
    path = tmp_path / "f.py"
    path.write_text("import numpy as np\n\ndef f(x):\n    return np.sum(x if x else 0.0)\n")
    run = subprocess.run([sys.executable, "-m", "derive", "stage", f"{path}:f", "--shapes", "x=2x2"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "not a comparison" in run.stderr


# ---- numbers: minitorch / micrograd style relu and leaky relu --------------------------------
MINITORCH_RELU = '''def relu(x: float) -> float:
    return x if x > 0 else 0.0
'''
LEAKY_SCALAR = '''def leaky(x, y):
    a = x * y
    return a if a > 0 else 0.01 * a
'''


@pytest.mark.parametrize("x", [2.0, -1.5, 0.3])
def test_scalar_relu_as_written_is_a_select(x):
    import sympy as sp
    prog = stage(MINITORCH_RELU)                     # no shapes: numbers, staged as 0-D arrays
    res = prog.run(x=x)
    s = sp.Symbol("x", real=True)
    exact = sp.diff(sp.Piecewise((s, s > 0), (0.0, True)), s).subs(s, x)
    assert float(res.grad["x"]) == float(exact) == (1.0 if x > 0 else 0.0)
    assert float(res.value) == max(x, 0.0)


@pytest.mark.parametrize("x, y", [(2.0, -3.0), (0.5, 1.5), (-1.0, -0.25)])
def test_scalar_leaky_relu_gradient_is_the_taken_sides(x, y):
    import sympy as sp
    prog = stage(LEAKY_SCALAR)
    assert "f = np.where(agt0, a, t1)" in [str(ln) for ln in prog.forward]
    res = prog.run(x=x, y=y)
    sx, sy = sp.symbols("x y", real=True)
    a = sx * sy
    f = sp.Piecewise((a, a > 0), (0.01 * a, True))
    for name, s in (("x", sx), ("y", sy)):
        exact = float(sp.diff(f, s).subs({sx: x, sy: y}))
        assert float(res.grad[name]) == pytest.approx(exact, rel=1e-14)
    fd = central_differences(prog, {"x": np.asarray(x), "y": np.asarray(y)})
    for name in ("x", "y"):
        assert float(res.grad[name]) == pytest.approx(float(fd[name]), rel=1e-7)
    report = check_arrays(prog.with_shapes({"x": (), "y": ()}), seed=1)
    assert report.ok and report.max_err_sympy is not None, report
