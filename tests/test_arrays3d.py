"""Arrays of three and more dimensions (sequences (N, T, D)) through the array rows: elementwise
gates, sums and means over (negative) axes, matmul with a stack of matrices, reshape to three
sizes, transpose with axes. Every gradient is checked against central differences and
component-wise sympy.diff (``check_arrays``); shapes print in the line comments; a mismatch is
one line."""
import numpy as np
import pytest

from derive import stage
from derive.core.errors import DeriveError
from derive.symbolic.jacobians import check_arrays

SEQUENCE = '''def f(x, Wx, b, v):
    N, T, D = x.shape
    h = np.tanh(x @ Wx + b)
    s = np.sum(h, axis=-1)
    m = np.mean(h, axis=1, keepdims=True)
    z = np.transpose(h - m, (0, 2, 1))
    r = h.reshape(N * T, -1)
    return np.sum(s ** 2) + np.sum(z * v) + np.sum(np.sin(r))
'''


def test_sequence_function_through_every_row():
    prog = stage(SEQUENCE, shapes={"x": (2, 3, 2), "Wx": (2, 4), "b": (4,), "v": (2, 4, 3)})
    text = prog.to_text()
    fwd = [str(ln) for ln in prog.forward]
    assert "z = np.transpose(hmm, (0, 2, 1))" in fwd and "r = h.reshape(NT, -1)" in fwd
    assert "xWx = x @ Wx                           # (4) shape (2, 3, 4)" in text  # (N, T, H)
    back = "\n".join(str(b) for b in prog.backward)
    assert "np.transpose(dz, (0, 2, 1))" in back               # the inverse permutation
    assert "x.reshape(-1, x.shape[-1]).T @ dxWx.reshape(-1, dxWx.shape[-1])" in back
    assert "np.sum(" in back and "axis=(0, 1)" in back         # b broadcast over N and T
    report = check_arrays(prog, seed=2)
    assert report.ok, report
    assert report.max_err_sympy is not None


@pytest.mark.parametrize("src, shapes", [
    ("def f(x, w):\n    return np.sum(np.tanh(x @ w))\n", {"x": (2, 2, 3), "w": (2, 3, 2)}),
    ("def f(x, w):\n    return np.sum(np.tanh(x @ w))\n", {"x": (2, 2, 3), "w": (3,)}),
    ("def f(x):\n    return np.sum(np.sin(x.T) * x)\n", {"x": (2, 3, 2)}),
    ("def f(x):\n    return np.sum(np.sin(x.transpose((2, 0, 1))))\n", {"x": (2, 3, 2)}),
    ("def f(x):\n    return np.max(np.sum(x * x, axis=-1))\n", {"x": (2, 3, 2)}),
    ("def f(x):\n    return np.sum(np.var(x, axis=-2) * np.mean(x, axis=1))\n", {"x": (2, 3, 2)}),
    ("def f(x, w):\n    return np.sum(np.tanh(x.reshape(2, 3, 2) * w))\n", {"x": (6, 2), "w": (3, 1)}),
    ("def f(x):\n    return np.sum(np.exp(x) / np.sum(np.exp(x), axis=2, keepdims=True))\n", {"x": (2, 2, 2, 2)}),
], ids=["batched-matmul", "stack-times-vector", "T", "transpose-tuple", "max-of-sum", "var-mean", "reshape3",
        "4-D-softmax"])
def test_three_and_four_dimensions_match_sympy_and_central_differences(src, shapes):
    prog = stage(src, shapes=shapes)
    report = check_arrays(prog, seed=5)
    assert report.ok, report


def test_printed_code_runs_on_3d_arrays():
    prog = stage(SEQUENCE, shapes={"x": (2, 3, 2), "Wx": (2, 4), "b": (4,), "v": (2, 4, 3)})
    ns = {}
    exec(compile(prog.to_python(), "<printed by derive>", "exec"), ns)  # derive's printed code
    rng = np.random.default_rng(0)
    arrays = {p: rng.normal(size=prog.shapes[p]) for p in prog.param_names}
    value, grads = ns["f_and_grad"](**arrays)
    res = prog.run(**arrays)
    assert value == pytest.approx(res.value, rel=1e-13)
    for k in grads:
        np.testing.assert_allclose(grads[k], res.grad[k], rtol=1e-13)


@pytest.mark.parametrize("src, shapes, fragment", [
    ("def f(W, x):\n    return np.sum(W @ x)\n", {"W": (2, 2), "x": (3, 2, 2)},
     "W @ x with shapes (2, 2) and (3, 2, 2) (line 2)"),
    ("def f(x, w):\n    return np.sum(x @ w)\n", {"x": (2, 3, 2), "w": (3, 4)},
     "shape error in forward line (1) `xw = x @ w`: x has shape (2, 3, 2), w has shape (3, 4)"),
    ("def f(x):\n    return np.sum(np.transpose(x, (0, 0, 1)))\n", {"x": (2, 3, 2)},
     "np.transpose() with axes that are not a permutation"),
    ("def f(x):\n    return np.sum(x.reshape(1, 2, 3, 4, 5, 6))\n", {"x": (2, 3, 2)},
     "give one to four sizes"),
    ("def f(x):\n    return np.sum(np.transpose(x, (1, 0)))\n", {"x": (2, 3, 2)},
     "shape error in forward line (1)"),
])
def test_three_d_mistakes_are_one_line(src, shapes, fragment):
    with pytest.raises(DeriveError) as err:
        stage(src, shapes=shapes)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_cli_stages_a_3d_function(tmp_path):
    import subprocess
    import sys
    path = tmp_path / "seq.py"
    path.write_text("import numpy as np\n\n" + SEQUENCE)
    run = subprocess.run([sys.executable, "-m", "derive", "stage", f"{path}:f", "--shapes",
                          "x=2x3x2,Wx=2x4,b=4,v=2x4x3"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "x (2, 3, 2)" in run.stdout and "np.transpose(dz, (0, 2, 1))" in run.stdout
    bad = subprocess.run([sys.executable, "-m", "derive", "stage", f"{path}:f", "--shapes",
                          "x=2x3x2,Wx=3x4,b=4,v=2x4x3"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
