"""Arrays of three and more dimensions (sequences (N, T, D)) through the array rows: elementwise
gates, sums and means over (negative) axes, matmul with a stack of matrices, reshape to three
sizes, transpose with axes. Every gradient is checked against central differences and
component-wise sympy.diff (``check_arrays``); shapes print in the line comments; a mismatch is
one line."""
import os

import numpy as np
import pytest

from derive import stage
from derive.core.errors import DeriveError
from derive.symbolic.jacobians import central_differences, check_arrays, sympy_gradient

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


# ---- indexing a 3-D array ---------------------------------------------------------------------
STEP = '''def step(x, t, Wx):
    xt = x[:, t]
    h = np.tanh(xt @ Wx)
    first = x[0]
    odd = first[1::2]
    return np.sum(h) + np.sum(odd ** 2) + np.sum(x[:, t, :] * x[:, -1])
'''


def test_time_slice_with_a_given_integer_is_a_gather_argument():
    prog = stage(STEP, shapes={"x": (2, 4, 3), "Wx": (3, 2)}, constants={"t": 2})
    fwd = [str(ln) for ln in prog.forward]
    assert fwd[:4] == ["xt = x[:, 2]", "xtWx = xt @ Wx", "h = np.tanh(xtWx)", "first = x[0]"]
    assert "odd = first[1::2]" in fwd
    back = [str(b) for b in prog.backward]
    assert "dx[:, 2] += dxt" in back and "dfirst[1::2] += dodd" in back and "dx[0] += dfirst" in back
    assert not any("np.add.at" in b for b in back)          # one integer picks without repeats
    gather = next(ln for ln in prog.staged.nodes if ln.op == "index")
    assert gather.args[1].is_const and gather.args[1].value == 2  # the index is an argument (loops bind it)
    report = check_arrays(prog, seed=3)
    assert report.ok and report.max_err_sympy is not None, report


def test_time_index_as_an_integer_parameter():
    prog = stage(STEP, shapes={"x": (2, 4, 3), "Wx": (3, 2), "t": ()})
    assert prog.labels == ["t"]
    rng = np.random.default_rng(1)
    x, Wx = rng.normal(size=(2, 4, 3)), rng.normal(size=(3, 2))
    for t in (1, 3):
        res = prog.run(x=x, t=t, Wx=Wx)
        fixed = stage(STEP, shapes={"x": (2, 4, 3), "Wx": (3, 2)}, constants={"t": t}).run(x=x, Wx=Wx)
        assert res.value == pytest.approx(fixed.value, rel=1e-14)
        np.testing.assert_allclose(res.grad["x"], fixed.grad["x"], rtol=1e-14)
        fd = central_differences(prog, {"x": x, "t": np.asarray(t), "Wx": Wx})
        np.testing.assert_allclose(res.grad["x"], fd["x"], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("src, shapes, line", [
    ("def f(x):\n    ev = x[::2]\n    return np.sum(np.sin(ev) + x[1::2] ** 2)\n", {"x": (4, 2, 2)},
     "dx[::2] += dev"),
    ("def f(a):\n    b = a[:, 1::2]\n    return np.sum(np.sin(b) * a[:, ::-2])\n", {"a": (2, 4)},
     "da[:, 1::2] += db"),
    ("def f(x):\n    last = x[..., -1]\n    return np.sum(np.sin(last))\n", {"x": (2, 3, 2)},
     "dx[..., -1] += dlast"),
    ("def f(W, x):\n    out = W[x]\n    return np.sum(np.sin(out))\n", {"W": (4, 3), "x": (2, 3)},
     "np.add.at(dW, x, dout)"),
    ("def f(x, y):\n    N = x.shape[0]\n    picked = x[np.arange(N), :, y]\n    return np.sum(np.exp(picked))\n",
     {"x": (3, 2, 4), "y": (3,)}, "np.add.at(dx, np.s_[rangeN, :, y], dpicked)"),
    ("def f(x):\n    z = x * 1.0\n    z[:, ::2] = 0\n    return np.sum(np.sin(z))\n", {"x": (2, 4)},
     "dz = setitem(dz_1, (slice(None, None), slice(None, None, 2),), 0)"),
], ids=["step", "column-step", "ellipsis", "3-D-embedding", "arange-slice-labels", "strided-write"])
def test_steps_and_3d_gathers_scatter_back(src, shapes, line):
    prog = stage(src, shapes=shapes)
    assert line in [str(b) for b in prog.backward]
    rng = np.random.default_rng(4)
    arrays = {p: rng.integers(0, 2, size=s) if p in prog.labels else rng.normal(size=s) for p, s in shapes.items()}
    res = prog.run(**arrays)
    fd = central_differences(prog, arrays)
    by_diff = sympy_gradient(prog, arrays)
    for k in res.grad:
        np.testing.assert_allclose(res.grad[k], fd[k], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(res.grad[k], by_diff[k], rtol=1e-10, atol=1e-12)


def test_3d_embedding_equals_cs231n_backward():
    prog = stage("def f(x, W):\n    out = W[x]\n    return out\n", shapes={"x": (2, 3), "W": (5, 4)})
    rng = np.random.default_rng(6)
    x = np.array([[0, 3, 3], [4, 0, 3]])
    W, dout = rng.normal(size=(5, 4)), rng.normal(size=(2, 3, 4))
    res = prog.run(x=x, W=W, upstream=dout)
    ref = np.zeros_like(W)
    np.add.at(ref, x, dout)
    np.testing.assert_allclose(res.grad["W"], ref, rtol=1e-14)


# ---- lists: np.stack and np.concatenate -------------------------------------------------------
RNN3 = '''def rnn(x, h0, Wx, Wh):
    hs = [h0]
    h = np.tanh(x[:, 0] @ Wx + h0 @ Wh)
    hs.append(h)
    h = np.tanh(x[:, 1] @ Wx + h @ Wh)
    hs.append(h)
    H = np.stack(hs[1:], axis=1)
    return np.sum(H ** 2)
'''


def test_stack_of_a_list_built_with_append():
    prog = stage(RNN3, shapes={"x": (2, 2, 3), "h0": (2, 2), "Wx": (3, 2), "Wh": (2, 2)})
    fwd = [str(ln) for ln in prog.forward]
    assert "H = np.stack([h, h_1], axis=1)" in fwd
    back = [str(b) for b in prog.backward]
    assert "dh = dH[:, 0].copy()" in back and "dh_1 = dH[:, 1]" in back  # dh is added to later
    assert "dh += dh_1Wh @ Wh.T" in back or any(b.startswith("dh += ") for b in back)
    rng = np.random.default_rng(2)
    arrays = {p: rng.normal(size=prog.shapes[p]) for p in prog.param_names}
    res = prog.run(**arrays)
    np.testing.assert_allclose(res.adjoints["dH"], 2 * res.values["H"], rtol=1e-14)  # not changed by +=
    report = check_arrays(prog, seed=1)
    assert report.ok and report.max_err_sympy is not None, report


@pytest.mark.parametrize("src, shapes, lines", [
    ("def f(a, b):\n    c = np.concatenate([a, b, a], axis=1)\n    return np.sum(np.sin(c))\n",
     {"a": (2, 2), "b": (2, 3)},
     ["da = dc[:, :a.shape[1]].copy()", "db = dc[:, a.shape[1]:a.shape[1] + b.shape[1]]",
      "da += dc[:, a.shape[1] + b.shape[1]:]"]),
    ("def f(a, b):\n    parts = [a, np.tanh(b)]\n    c = np.concatenate(parts)\n    return np.sum(c ** 3)\n",
     {"a": (1, 2), "b": (2, 2)}, ["da = dc[:a.shape[0]]", "dtanhb = dc[a.shape[0]:]"]),
    ("def f(x):\n    cols = []\n    cols.append(x[..., 0])\n    cols.append(np.sin(x[..., 1]))\n"
     "    s = np.stack(cols, axis=-1)\n    return np.sum(s * x)\n", {"x": (2, 2, 2)},
     ["dxi = ds[..., 0]", "dsint1 = ds[..., 1]"]),
    ("def f(a, b):\n    s = np.stack([a, b, a])\n    return np.sum(np.exp(s[1:]))\n", {"a": (3,), "b": (3,)},
     ["da = ds[0].copy()", "db = ds[1]"]),
], ids=["concatenate-axis1", "concatenate-list-name", "stack-last-axis", "stack-axis0"])
def test_stack_and_concatenate_backward_as_slices(src, shapes, lines):
    prog = stage(src, shapes=shapes)
    back = [str(b) for b in prog.backward]
    assert all(line in back for line in lines), back
    report = check_arrays(prog, seed=3)
    assert report.ok and report.max_err_sympy is not None, report


@pytest.mark.parametrize("body, fragment", [
    ("hs = [x]\n    ks = hs\n    hs.append(x)\n    return np.sum(np.stack(ks))", "changes the list that ks also names"),
    ("return np.sum(np.stack(x))", "np.stack() of something other than a list of arrays"),
    ("return np.sum(np.stack([x, x], axis=-2))", "np.stack() with an axis that is not a constant"),
    ("hs = []\n    return np.sum(np.stack(hs))", "np.stack() of something other than a list"),
    ("x.append(x)\n    return np.sum(x)", "x.append(...) at line 2: derive appends only to a list the function made"),
    ("hs = [x]\n    n = 1\n    return np.sum(np.stack(hs[n + x:]))", "a slice of a list with bounds that are not"),
])
def test_list_mistakes_are_one_line(body, fragment):
    with pytest.raises(DeriveError) as err:
        stage(f"def f(x):\n    {body}\n", shapes={"x": (2, 2)})
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_every_printer_circuit_and_sheet_reads_a_3d_program(tmp_path):
    import json

    from derive import sheet
    prog = stage(RNN3, shapes={"x": (2, 2, 3), "h0": (2, 2), "Wx": (3, 2), "Wh": (2, 2)})
    rng = np.random.default_rng(0)
    arrays = {p: rng.normal(size=prog.shapes[p]) for p in prog.param_names}
    assert "np.stack([h, h\\_1], axis=1)" in prog.to_latex()
    assert "| 11 | `H = np.stack([h, h_1], axis=1)` | (2, 2, 2) |" in prog.to_markdown()
    assert json.loads(json.dumps(prog.to_dict()))["shapes"]["H"] == [2, 2, 2]
    assert prog.circuit(**arrays) is not None
    pdf = sheet(prog, at=arrays, path=str(tmp_path / "rnn.pdf"))
    assert os.path.getsize(pdf[0]) > 1000
