"""Arrays: staged NumPy backward code against central differences and sympy.diff, goldens, errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import derive
from derive import DeriveError, Program, onehot, softmax, softmax_cross_entropy, stage
from derive.symbolic.jacobians import central_differences, jacobian_gradient, sympy_gradient
from derive.core.rules import ARRAY_RULES
from derive.frontend.array_source import parse_shapes, stage_text


# ---- catalogue: functions a learner writes (also executed directly as the FD reference) ----
def sheet_tanh(W1, b, W2, x, y):
    h = W1 @ x + b
    a = np.tanh(h)
    r = W2 @ a - y
    return 0.5 * np.sum(r ** 2)


def sheet_relu(W1, b, W2, x, y):
    h = W1 @ x + b
    a = np.maximum(h, 0)
    r = W2 @ a - y
    return 0.5 * np.sum(r ** 2)


def iris_net(X, W1, b1, W2, b2, y):
    N = X.shape[0]
    h = np.maximum(X @ W1 + b1, 0)
    scores = h @ W2 + b2
    loss = softmax_cross_entropy(scores, y)
    return loss / N


def mixed(A, B, c):
    t = np.mean(A * B, axis=0)
    s = derive.sigmoid(A) / (1 + B ** 2)
    u = np.sum(np.mean(np.exp(A.T), axis=1, keepdims=True))
    return np.sum(t * c) + np.linalg.norm(A) + u + np.sum(s * c) + np.dot(c, c)


def rebind(W, x, b):
    h = W @ x
    h += b
    h = np.sin(h) * np.cos(h)
    v = np.sum(h, 0)
    return np.sum(v * v) / len(x)


def rowvec(v, M, c):
    w = v @ M
    z = np.sqrt(1 + w ** 2) - np.log(1 + np.abs(c) + w ** 2)
    return np.sum(z * c) + np.linalg.norm(M.T @ v) ** 2


def scale(c, X, b):
    Y = c * X - b
    return np.mean(np.tanh(Y) ** 2) + np.sum(np.minimum(Y, 0.5))


def sheet_part_c(W, b, x, y):
    return (y - np.sum(np.tanh(W @ x + b))) ** 2


SHEET_1D = dict(W1=(4, 3), b=(4,), W2=(2, 4), x=(3,), y=(2,))
SHEET_COL = dict(W1=(4, 3), b=(4, 1), W2=(2, 4), x=(3, 1), y=(2, 1))
SHEET_BATCH = dict(W1=(4, 3), b=(4, 1), W2=(2, 4), x=(3, 5), y=(2, 5))
CASES = [
    (sheet_tanh, SHEET_1D), (sheet_tanh, SHEET_COL), (sheet_tanh, SHEET_BATCH),
    (sheet_relu, SHEET_1D), (sheet_relu, SHEET_BATCH),
    (iris_net, dict(X=(7, 4), W1=(4, 5), b1=(5,), W2=(5, 3), b2=(3,), y=(7,))),
    (iris_net, dict(X=(1, 2), W1=(2, 3), b1=(1, 3), W2=(3, 4), b2=(4,), y=(1,))),
    (mixed, dict(A=(3, 4), B=(3, 4), c=(4,))), (mixed, dict(A=(2, 1), B=(1, 1), c=(1,))),
    (rebind, dict(W=(3, 2), x=(2, 4), b=(3, 1))), (rebind, dict(W=(3, 2), x=(2,), b=(3,))),
    (rowvec, dict(v=(3,), M=(3, 4), c=(4,))), (rowvec, dict(v=(3,), M=(3, 2), c=(1, 2))),
    (scale, dict(c=(), X=(3, 4), b=(4,))), (scale, dict(c=(3, 1), X=(3, 4), b=(1, 4))),
    (sheet_part_c, dict(W=(3, 2), b=(3,), x=(2,), y=())),
]
IDS = [f"{f.__name__}-{'-'.join('x'.join(map(str, s)) or 'num' for s in sh.values())}" for f, sh in CASES]


def arrays_for(f, shapes, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for k, s in shapes.items():
        if k == "y" and f is iris_net:
            out[k] = rng.integers(0, 3, size=s)
        else:
            out[k] = np.asarray(rng.normal(size=s) + (0.3 if k == "X" else 0.0))
    return out


def central(f, arrays, labels, h=1e-6):
    """Central differences of the Python function itself (never through derive's code)."""
    grads = {}
    for k, v in arrays.items():
        if k in labels:
            continue
        g = np.zeros_like(v, dtype=float)
        for idx in np.ndindex(v.shape):
            hi, lo = dict(arrays), dict(arrays)
            hi[k], lo[k] = v.copy(), v.copy()
            hi[k][idx] += h
            lo[k][idx] -= h
            g[idx] = (f(**hi) - f(**lo)) / (2 * h)
        grads[k] = g
    return grads


@pytest.mark.parametrize("gates", ["grouped", "primitive"])
@pytest.mark.parametrize("f, shapes", CASES, ids=IDS)
def test_backward_matches_central_differences(f, shapes, gates):
    prog = stage(f, gates=gates)
    assert isinstance(prog, Program) and prog.arrays
    arrays = arrays_for(f, shapes)
    res = prog.run(**arrays)
    assert res.value == pytest.approx(f(**arrays), rel=1e-12, abs=1e-12)
    fd = central(f, arrays, prog.labels)
    assert set(res.grad) == set(fd)
    for k in fd:
        assert res.grad[k].shape == arrays[k].shape
        np.testing.assert_allclose(res.grad[k], fd[k], rtol=1e-5, atol=1e-6, err_msg=k)


ROW_EXAMPLES = [(name, ex) for name, row in ARRAY_RULES.items() for ex in row.examples]


def test_every_array_rule_has_examples():
    assert all(row.examples for row in ARRAY_RULES.values())


@pytest.mark.parametrize("gates", ["grouped", "primitive"])
@pytest.mark.parametrize("name, example", ROW_EXAMPLES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(ROW_EXAMPLES)])
def test_array_rule_rows(name, example, gates):
    """Each row of the table's array section, from its own examples: no test edits for a new row."""
    params, body, shapes = example
    prog = stage(f"def f({params}):\n    return {body}\n", gates=gates, shapes=shapes)
    if gates == "grouped":
        assert name in {ln.op for ln in prog.forward}
    rng = np.random.default_rng(7)
    arrays = {p: rng.integers(0, 2, size=s) if p == "y" else np.asarray(rng.normal(size=s))
              for p, s in shapes.items()}
    staged = prog.run(**arrays).grad
    fd = central_differences(prog, arrays)
    by_diff = sympy_gradient(prog, arrays)
    assert set(staged) == set(fd) == set(by_diff) == {p for p in shapes if p != "y"}
    for k in staged:
        np.testing.assert_allclose(staged[k], fd[k], rtol=1e-6, atol=1e-7, err_msg=k)
        np.testing.assert_allclose(staged[k], by_diff[k], rtol=1e-10, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("f, shapes", [CASES[i] for i in (0, 2, 3, 6, 8, 10, 12, 13, 15)],
                         ids=[IDS[i] for i in (0, 2, 3, 6, 8, 10, 12, 13, 15)])
def test_small_sizes_match_sympy_diff_and_jacobian_product(f, shapes):
    prog = stage(f)
    arrays = arrays_for(f, shapes, seed=3)
    staged = prog.run(**arrays).grad
    by_diff = sympy_gradient(prog, arrays)
    by_jacobians = jacobian_gradient(prog, arrays)
    for k in staged:
        np.testing.assert_allclose(staged[k], by_diff[k], rtol=1e-10, atol=1e-12, err_msg=k)
        np.testing.assert_allclose(staged[k], by_jacobians[k], rtol=1e-10, atol=1e-12, err_msg=k)


def test_every_intermediate_and_adjoint_is_returned_with_its_shape():
    prog = stage(sheet_tanh)
    arrays = arrays_for(sheet_tanh, SHEET_BATCH)
    res = prog.run(**arrays)
    spec = prog.with_shapes(SHEET_BATCH)
    for ln in spec.forward:
        assert np.shape(res.values[ln.target.name]) == ln.shape
    for var, adj in spec.adjoints.items():
        assert np.shape(res.adjoints[adj.name]) == spec.shapes[var.name], var
    np.testing.assert_allclose(res.values["a"], np.tanh(arrays["W1"] @ arrays["x"] + arrays["b"]))
    np.testing.assert_allclose(res.adjoints["dr"], res.values["r"])


def test_printed_code_runs_as_it_stands():
    for f, shapes in CASES[:8]:
        prog = stage(f).with_shapes(shapes)
        ns = {}
        exec(prog.to_python(), ns)
        arrays = arrays_for(f, shapes)
        value, grads = ns[f"{f.__name__}_and_grad"](**arrays)
        res = prog.run(**arrays)
        assert value == pytest.approx(res.value)
        for k in res.grad:
            np.testing.assert_allclose(grads[k], res.grad[k])


# ---- golden strings: the discussion sheet's l ----
SHEET_TANH_GENERIC = """\
df = 1                                 # (8)  the seed: df/df = 1
dsumrsqr = 0.5                         # (8)
drsqr = dsumrsqr * np.ones_like(rsqr)  # (7)
dr = (2*r) * drsqr                     # (6)
dW2a = dr                              # (5)
dy = -dr                               # (5)
dW2 = dW2a @ a.T                       # (4)
da = W2.T @ dW2a                       # (4)
dh = (1 - a**2) * da                   # (3)
dW1x = dh                              # (2)
db = dh                                # (2)
dW1 = dW1x @ x.T                       # (1)
dx = W1.T @ dW1x                       # (1)"""

SHEET_RELU_1D = """\
df = 1                                 # (8) shape ()  the seed: df/df = 1
dsumrsqr = 0.5                         # (8) shape ()
drsqr = dsumrsqr * np.ones_like(rsqr)  # (7) shape (2,)
dr = (2*r) * drsqr                     # (6) shape (2,)
dW2a = dr                              # (5) shape (2,)
dy = -dr                               # (5) shape (2,)
dW2 = np.outer(dW2a, a)                # (4) shape (2, 4)
da = W2.T @ dW2a                       # (4) shape (4,)
dh = (h > 0) * da                      # (3) shape (4,)
dW1x = dh                              # (2) shape (4,)
db = dh                                # (2) shape (4,)
dW1 = np.outer(dW1x, x)                # (1) shape (4, 3)
dx = W1.T @ dW1x                       # (1) shape (3,)"""

SHEET_TANH_BATCH_FORWARD = """\
W1x = W1 @ x            # (1) shape (4, 5)
h = W1x + b             # (2) shape (4, 5)
a = np.tanh(h)          # (3) shape (4, 5)
W2a = W2 @ a            # (4) shape (2, 5)
r = W2a - y             # (5) shape (2, 5)
rsqr = r**2             # (6) shape (2, 5)
sumrsqr = np.sum(rsqr)  # (7) shape ()
f = 0.5*sumrsqr         # (8) shape ()"""


def test_golden_sheet_tanh_backward_without_shapes():
    assert stage(sheet_tanh).backward_code() == SHEET_TANH_GENERIC


def test_golden_sheet_relu_backward_vectors():
    assert stage(sheet_relu, shapes=SHEET_1D).backward_code() == SHEET_RELU_1D


def test_golden_sheet_tanh_batch():
    prog = stage(sheet_tanh, shapes=SHEET_BATCH)
    assert prog.forward_code() == SHEET_TANH_BATCH_FORWARD
    back = prog.backward_code(comments=False).splitlines()
    assert "db = np.sum(dh, axis=1, keepdims=True)" in back
    assert back[6:8] == ["dW2 = dW2a @ a.T", "da = W2.T @ dW2a"]  # the sheet's dl/dW2, dl/dx2


def test_golden_fused_softmax_cross_entropy_line():
    prog = stage(iris_net, shapes=dict(X=(6, 4), W1=(4, 5), b1=(5,), W2=(5, 3), b2=(3,), y=(6,)))
    lines = prog.backward_code(comments=False).splitlines()
    assert lines[:4] == ["df = 1", "dloss = 1/N", "dscores = (softmax(scores) - onehot(y, scores.shape[-1])) * dloss",
                         "dhW2 = dscores"]
    assert "db2 = np.sum(dscores, axis=0)" in lines
    assert prog.labels == ["y"] and "y" not in prog.grads


def test_primitive_softmax_cross_entropy_decomposition():
    prog = stage(iris_net, gates="primitive")
    ops = [ln.op for ln in prog.forward]
    assert "softmax_cross_entropy" not in ops and {"exp", "sum", "log", "onehot"} <= set(ops)
    arrays = arrays_for(iris_net, CASES[5][1])
    fused = stage(iris_net).run(**arrays)
    parts = prog.run(**arrays)
    assert parts.value == pytest.approx(fused.value)
    for k in fused.grad:
        np.testing.assert_allclose(parts.grad[k], fused.grad[k], atol=1e-12)
    # the fused line's claim, probs - onehot(y), divided by N
    np.testing.assert_allclose(fused.adjoints["dscores"],
                               (softmax(fused.values["scores"]) - onehot(arrays["y"], 3)) / 7)


def test_routing_and_specialisation():
    scalar = stage("x*y + sin(x)")
    assert type(scalar) is type(stage(sheet_tanh)) is Program and not scalar.arrays  # one type
    prog = stage(sheet_tanh)
    assert prog.shapes is None and "shapes unknown" in str(prog)
    assert prog.with_shapes(SHEET_1D) is prog.with_shapes(**SHEET_1D)
    assert stage(prog, shapes=SHEET_1D).shapes["W1x"] == (4,)
    text = stage_text(open(__file__).read(), "sheet_tanh", "W1=4x3, b=4, W2=2x4, x=3, y=2")
    assert "dW1 = np.outer(dW1x, x)" in text and "# (1) shape (4, 3)" in text


def test_parse_shapes():
    assert parse_shapes("W1=5x3, b=5,x=(3, 1) c=()") == {"W1": (5, 3), "b": (5,), "x": (3, 1), "c": ()}
    with pytest.raises(DeriveError, match="bad shape"):
        parse_shapes("W1=five")


# ---- errors ----
def test_shape_error_names_the_line_and_both_shapes():
    with pytest.raises(DeriveError) as err:
        stage(sheet_tanh, shapes=dict(SHEET_1D, x=(4,)))
    msg = str(err.value)
    assert "forward line (1) `W1x = W1 @ x`" in msg and "(4, 3)" in msg and "(4,)" in msg
    arrays = arrays_for(sheet_tanh, SHEET_1D)
    arrays["y"] = np.zeros(3)
    with pytest.raises(DeriveError, match=r"forward line \(5\) `r = W2a - y`: W2a has shape \(2,\), y has shape \(3,\)"):
        stage(sheet_tanh).run(**arrays)


def test_backward_shape_check_catches_a_wrong_template(monkeypatch):
    from derive.core import rules

    bad = rules.ArrayRule("transpose", 1, "{0}.T", ("{g}",), "{0}T")
    monkeypatch.setitem(rules.ARRAY_RULES, "transpose", bad)
    with pytest.raises(DeriveError, match=r"backward line `dA = dAT` .* gives shape \(3, 2\) but A has shape \(2, 3\)"):
        stage("def f(A, B):\n    return np.sum(A.T * B)\n", shapes=dict(A=(2, 3), B=(3, 2)))


@pytest.mark.parametrize("body, fragment", [
    ("return np.sum(np.linalg.inv(A))", "unsupported NumPy call 'np.linalg.inv' at line 2"),
    ("return np.einsum('ij->', A)", "unsupported NumPy call 'np.einsum'"),
    ("return A.cumsum()", "method call A.cumsum()"),
    ("return np.sum(A, axis=(0, 1))", "axis= in np.sum() must be one integer"),
    ("return np.sum(A, out=A)", "keyword argument out="),
    ("return math.exp(np.sum(A))", "unsupported function 'math.exp'"),
    ("for i in A:\n        pass\n    return np.sum(A)", "a for loop at line 2"),
    ("return np.sum(A @ B)", "undefined name 'B'"),
])
def test_unsupported_code_is_named(body, fragment):
    with pytest.raises(DeriveError) as err:
        stage(f"def f(A):\n    {body}\n", shapes={"A": (2, 2)})
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("value, fragment", [
    ([[1.0, 2.0]], "input x must be a NumPy array, got list"),
    (2.0, "x has shape ()"),  # a number is a 0-d array (reg=0.1); here its shape is wrong
    (np.zeros((1,) * 9), "arrays of up to 8 dimensions"),
    (np.array(["a", "b"]), "must hold real numbers"),
    (np.array([np.nan, 1.0]), "must be finite"),
])
def test_non_array_inputs(value, fragment):
    prog = stage("def f(W, x):\n    return np.sum(W @ x)\n")
    with pytest.raises(DeriveError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        prog.run(W=np.ones((2, 2)), x=value)


def test_other_run_errors():
    prog = stage(iris_net)
    arrays = arrays_for(iris_net, CASES[5][1])
    with pytest.raises(DeriveError, match="class labels: it must be an integer array"):
        prog.run(**dict(arrays, y=arrays["y"].astype(float)))
    with pytest.raises(DeriveError, match="missing value for b2"):
        prog.run(**{k: v for k, v in arrays.items() if k != "b2"})
    with pytest.raises(DeriveError, match="unknown input z"):
        prog.run(z=np.ones(2), **arrays)
    with pytest.raises(DeriveError, match=r"returns an array of shape \(2,\), not one number: give its upstream"):
        stage("def f(W, x):\n    return W @ x\n").run(W=np.ones((2, 2)), x=np.ones(2))
    with pytest.raises(DeriveError, match="missing shape for x"):
        stage(sheet_tanh).with_shapes(W1=(2, 2), b=(2,), W2=(2, 2), y=(2,))


def test_cli_stage_text_errors_are_one_line(tmp_path):
    path = tmp_path / "net.py"
    path.write_text("import numpy as np\n\ndef loss(W, x):\n    return np.sum(np.tanh(W @ x))\n")
    with pytest.raises(DeriveError, match="shape error in forward line \\(1\\)"):
        stage_text(path.read_text(), "loss", "W=2x3, x=2")
    path.write_text(path.read_text() + "\n\ndef bad(A):\n    return np.sum(np.linalg.inv(A))\n")
    with pytest.raises(DeriveError, match="'np.linalg.inv' at line 8; supported: .*softmax_cross_entropy"):
        stage_text(path.read_text(), "bad")
    with pytest.raises(DeriveError, match="no function named 'nope'"):
        stage_text(path.read_text(), "nope", "W=2x3, x=3")


def test_iris_data_ships_with_the_package():
    from derive.teach.iris import load_iris

    X, y = load_iris()
    assert X.shape == (150, 4) and np.bincount(y).tolist() == [50, 50, 50]
    np.testing.assert_allclose(X.mean(axis=0), [5.843, 3.057, 3.758, 1.199], atol=5e-4)
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [5.006, 3.428, 1.462, 0.246], atol=5e-4)


def test_iris_training_reaches_95_percent():
    from derive.teach.iris import train

    run = train(hidden=16, rate=0.5, steps=200, seed=0)
    assert run.accuracy >= 0.95
    assert run.losses[-1] < 0.2 * run.losses[0]
    assert all(b <= a + 1e-12 for a, b in zip(run.losses[50:], run.losses[51:]))


def test_array_target_views_and_routing_helpers():
    from derive.frontend.arrays import uses_arrays
    from derive.frontend.array_source import array_target

    src = open(__file__).read()
    assert array_target("def f(x, y):\n    return x * y + sin(x)\n", "f") is None
    assert uses_arrays(sheet_tanh) and not uses_arrays("def f(x):\n    return np.tanh(x)\n")
    prog = array_target(src, "sheet_tanh", shapes="W1=4x3, b=4, W2=2x4, x=3, y=2")
    assert prog.to_dict()["shapes"]["W1x"] == [4]
    assert prog.to_dict()["backward"][6] == "dW2 = np.outer(dW2a, a)"
    assert "| 1 | `W1x = W1 @ x` | (4,) |" in prog.to_markdown()
    assert r"\texttt{dW2 = np.outer(dW2a, a)} && (4)" in prog.to_latex()
    assert "<table>" in prog._repr_html_() and "np.outer" in prog._repr_html_()


def test_primitive_gates_expand_sigmoid_on_arrays():
    prog = stage(mixed, gates="primitive", shapes=dict(A=(2, 3), B=(2, 3), c=(3,)))
    ops = {ln.op for ln in prog.forward}
    assert "sigmoid" not in ops and "div" in ops and "exp" in ops


@settings(max_examples=12, deadline=None, derandomize=True)
@given(n=st.integers(1, 4), d=st.integers(1, 4), k=st.integers(1, 3), batch=st.booleans(),
       relu=st.booleans())
def test_random_shapes_match_central_differences(n, d, k, batch, relu):
    f = sheet_relu if relu else sheet_tanh
    shapes = dict(W1=(d, n), b=(d, 1) if batch else (d,), W2=(k, d),
                  x=(n, 3) if batch else (n,), y=(k, 3) if batch else (k,))
    arrays = arrays_for(f, shapes, seed=n * 100 + d * 10 + k)
    res = stage(f).run(**arrays)
    fd = central(f, arrays, [])
    for key in fd:
        np.testing.assert_allclose(res.grad[key], fd[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_listing_with_a_run_and_check_arrays():
    from derive.symbolic.jacobians import check_arrays

    prog = stage(sheet_tanh)
    arrays = arrays_for(sheet_tanh, SHEET_1D)
    res = prog.run(**arrays)
    text = prog.to_text(res)
    assert "dW2 = np.outer(dW2a, a)" in text and f"f = {res.value!r}" in text and "df/dW1 = [[" in text
    assert "| `dW1 = np.outer(dW1x, x)` | (1) | (4, 3) |" in prog.to_markdown(res)
    report = check_arrays(prog, SHEET_1D)
    assert report.ok and report.max_err_sympy < 1e-12 and "OK" in str(report)
    with pytest.raises(DeriveError, match="shapes are unknown"):
        check_arrays(prog)
    assert derive.check(prog.with_shapes(SHEET_COL)).ok  # derive.check routes array programs


def test_kinks_are_noted():
    prog = stage(sheet_relu)
    arrays = arrays_for(sheet_relu, SHEET_1D)
    arrays["b"] = -(arrays["W1"] @ arrays["x"])
    arrays["b"][1:] += 1.0  # h = [0, 1, 1, 1]: one element at relu's kink
    res = prog.run(**arrays)
    assert res.notes == ["line (3): relu is not differentiable at 0; derive uses relu'(0) = 0 (1 of 4 elements)"]
    assert res.grad["b"][0] == 0.0
    assert stage(sheet_relu).run(**arrays_for(sheet_relu, SHEET_1D)).notes == []
