"""Loops unrolled (``unroll=True``), branches and ``while`` loops on data taken at a point (``at=``).

Every gradient is checked against central differences of the Python function itself (run by
the test, never by derive) and, for small scalar programs, against ``sympy.diff`` of the
program's expression. The CS231n naive losses (tests/data/loops) stage as written, and their
gradient equals the dW they compute themselves.
"""
import inspect
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

import derive
from derive import DeriveError
from derive.oracle.central import central_gradient
from tests.data.loops import tangent_functions
from tests.data.loops.linear_svm import svm_loss_naive
from tests.data.loops.softmax import softmax_loss_naive

HERE = os.path.dirname(__file__)
ROOT = os.path.dirname(HERE)

RECURRENCE = """
def f(x, w):
    h = x
    for i in range(3):
        h = h * w + x
    return h
"""

NESTED = """
def f(x, y):
    s = 0.0
    for i in range(2):
        for j in range(3):
            s += (i + 1) * x * y ** j
    return s
"""

OVER_A_LIST = """
def f(x):
    total = x
    for c in [1.5, -2.0, 0.5]:
        total = total * c + x
    return total
"""

BREAKS = """
def f(x):
    for k in range(10):
        if k == 3:
            break
        if k == 1:
            continue
        x = x * x + 1
    return x
"""

MINITORCH_SIGMOID = """
def sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + exp(-x))
    else:
        return exp(x) / (1.0 + exp(x))
"""

HALVING = """
def f(x):
    while x > 1:
        x = x / 2
    return x * x
"""

COUNTED = """
def f(x):
    k = 0
    while k < 3:
        x = sin(x) + x
        k += 1
    return x
"""


def python_function(src):
    """The test's own copy of a source as a Python function (the test runs it, derive does not)."""
    ns = {"exp": np.exp, "sin": np.sin}
    exec(src, ns)  # test data written in this file
    return [v for k, v in ns.items() if callable(v) and k not in ("exp", "sin")][-1]


def scalar_checks(prog, src, point):
    """Staged gradient == central differences of the Python function == sympy.diff of the program."""
    grad = prog.run(**point).grad
    fn = python_function(src)
    numeric = central_gradient(lambda p: fn(**p), point)
    expr = prog.expr()
    for name, value in point.items():
        assert grad[name] == pytest.approx(numeric[name], rel=1e-6, abs=1e-8)
        exact = float(sp.diff(expr, sp.Symbol(name, real=True)).subs(
            {sp.Symbol(k, real=True): v for k, v in point.items()}))
        assert grad[name] == pytest.approx(exact, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("src, point", [(RECURRENCE, dict(x=0.7, w=-1.3)), (NESTED, dict(x=1.1, y=-0.6)),
                                        (OVER_A_LIST, dict(x=0.4)), (BREAKS, dict(x=0.3))])
def test_unrolled_scalar_loops(src, point):
    prog = derive.stage(src, unroll=True)
    assert prog.run(**point).value == pytest.approx(python_function(src)(**point))
    scalar_checks(prog, src, point)
    assert derive.check(prog).ok


def test_unrolled_names_and_labels_carry_the_iteration():
    prog = derive.stage(RECURRENCE, unroll=True)
    names = [ln.target.name for ln in prog.forward]
    assert {"h_i0", "h_i1", "h_i2"} <= set(names) and prog.output.name == "h_i2"
    text = str(prog)
    assert "dw +=" in text  # w is used at every step: its gradient is a sum over the steps


def test_range_bound_from_constants_and_shapes():
    src = """
def f(x, n):
    s = x
    for i in range(n):
        s = s * x
    return s
"""
    prog = derive.stage(src, unroll=True, constants={"n": 4}, shapes={"x": ()})
    assert prog.run(x=np.float64(1.5)).grad["x"] == pytest.approx(5 * 1.5 ** 4)
    rows = """
def f(W, X):
    N, D = X.shape
    loss = 0.0
    for i in range(N):
        loss += np.sum(np.tanh(W @ X[i]))
    for x in X:
        loss += np.sum(x * x)
    return loss
"""
    rng = np.random.default_rng(1)
    point = dict(W=rng.standard_normal((2, 3)), X=rng.standard_normal((4, 3)))
    prog = derive.stage(rows, unroll=True, shapes={"W": (2, 3), "X": (4, 3)})
    grad = prog.run(**point).grad

    def loss(p):
        return sum(np.sum(np.tanh(p["W"] @ x)) + np.sum(x * x) for x in p["X"])
    numeric = central_gradient(loss, point)
    for k in point:
        np.testing.assert_allclose(grad[k], numeric[k], rtol=1e-6, atol=1e-8)
    assert any("iteration i=3" in ln.label for ln in prog.forward)


def _classifier_point(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return dict(W=rng.standard_normal((4, 3)) * scale, X=rng.standard_normal((5, 4)),
                y=np.array([0, 2, 1, 2, 0]), reg=0.1)


@pytest.mark.parametrize("fn", [svm_loss_naive, softmax_loss_naive])
def test_cs231n_naive_losses_stage_unchanged(fn):
    point = _classifier_point(scale=0.3)
    prog = derive.stage(fn, unroll=True, at=point)
    result = prog.run(**point)
    loss, dW = fn(**point)
    assert result.value == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(result.grad["W"], dW, rtol=1e-10, atol=1e-12)  # the published gradient
    numeric = central_gradient(lambda p: fn(**p)[0], point, names=["W", "X"])
    np.testing.assert_allclose(result.grad["W"], numeric["W"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(result.grad["X"], numeric["X"], rtol=1e-6, atol=1e-8)
    assert "y" in prog.labels
    assert any(n.startswith("your dW agrees") for n in result.notes)
    assert any("`j == y[i]` is taken at the given point: True 5 times, False 10 times" in n for n in prog.notes)


def test_svm_margin_branch_taken_both_ways():
    point = _classifier_point(seed=3, scale=1.5)
    prog = derive.stage(svm_loss_naive, unroll=True, at=point)
    note = next(n for n in prog.notes if "`margin > 0`" in n)
    true, false = (int(s.split()[0]) for s in note.split("True ")[1].split(", False "))
    assert true > 0 and false > 0 and true + false == 10
    assert "gradient is that of the branches taken there" in note
    np.testing.assert_allclose(prog.run(**point).grad["W"], svm_loss_naive(**point)[1], rtol=1e-10, atol=1e-12)


def test_printed_python_of_an_unrolled_loss_runs():
    point = _classifier_point(scale=0.3)
    prog = derive.stage(softmax_loss_naive, unroll=True, at=point)
    ns = {}
    exec(prog.to_python("g"), ns)  # derive's printed code
    value, grads = ns["g"](**point)
    loss, dW = softmax_loss_naive(**point)
    assert value == pytest.approx(loss)
    np.testing.assert_allclose(grads["W"], dW, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("x", [0.8, -0.8])
def test_branch_on_data_is_taken_at_the_point(x):
    prog = derive.stage(MINITORCH_SIGMOID, at={"x": x})
    taken = "if" if x >= 0 else "else"
    assert any(f"`x >= 0` is {x >= 0} at the given point, so the {taken} branch is staged" in n for n in prog.notes)
    scalar_checks(prog, MINITORCH_SIGMOID, {"x": x})
    assert prog.run(x=x).grad["x"] == pytest.approx(np.exp(-x) / (1 + np.exp(-x)) ** 2)


def test_while_on_data_is_staged_at_a_point_with_its_trip_count():
    prog = derive.stage(HALVING, at={"x": 5.0})
    assert any("ran 3 times at the given point" in n for n in prog.notes)
    scalar_checks(prog, HALVING, {"x": 5.0})
    counted = derive.stage(COUNTED)  # a counter known when staging: no point needed
    assert any("ran 3 times (known when staging)" in n for n in counted.notes)
    scalar_checks(counted, COUNTED, {"x": 0.9})


@pytest.mark.parametrize("src, kwargs, words", [
    (OVER_A_LIST, {}, "a for loop at line 3 over something other than range(n) or range(a, b) (rolled loops "
                      "run over a range): stage it unrolled (derive.stage(f, unroll=True)"),
    (NESTED, {}, "a for loop at line 4 inside a rolled loop: stage it unrolled"),
    (BREAKS, {}, "an if statement on values of the loop at line 3 (inside a rolled loop): stage it unrolled"),
    (HALVING, {}, "a while loop at line 2 whose condition depends on the inputs: stage it at a point"),
    (MINITORCH_SIGMOID, {}, "an if statement at line 2 whose condition depends on the inputs: stage it at a point"),
    ("def f(x):\n    continue\n    return x\n", {}, "continue outside a loop at line 2"),
    ("def f(x):\n    for i in range(100000):\n        x = x + 1\n    return x\n", {"unroll": True},
     "runs 100,000 times"),
    ("def f(x):\n    while True:\n        pass\n    return x\n", {"at": {"x": 1.0}}, "a while loop at line 2 that runs more than 10,000 times"),
    ("def f(x):\n    while True:\n        x = x + 1\n    return x\n", {"at": {"x": 1.0}}, "more than 10,000 gates"),
    ("def f(x):\n    for i in range(x):\n        x = x + 1\n    return x\n", {"unroll": True, "at": {"x": 1.5}},
     "is 1.5, not an integer"),
])
def test_refusals_are_one_line(src, kwargs, words):
    with pytest.raises(DeriveError) as err:
        derive.stage(src, **kwargs)
    assert words in str(err.value) and "\n" not in str(err.value)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}, timeout=120)


def test_cli_unroll_at_a_point():
    path = os.path.join(HERE, "data", "loops", "linear_svm.py") + ":svm_loss_naive"
    at = "W=[[0.2,-0.5,0.1],[1.0,0.3,-0.2]],X=[[1,2],[-1,0.5],[0.3,0.3]],y=[0,2,1],reg=0.1"
    out = _cli("stage", path, "--unroll", "--at", at, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    W = np.array([[0.2, -0.5, 0.1], [1.0, 0.3, -0.2]])
    X = np.array([[1, 2], [-1, 0.5], [0.3, 0.3]])
    loss, dW = svm_loss_naive(W, X, np.array([0, 2, 1]), 0.1)
    assert data["value"] == pytest.approx(loss)
    np.testing.assert_allclose(data["grad"]["W"], dW, rtol=1e-10, atol=1e-12)
    refused = _cli("stage", path, "--shapes", "W=2x3,X=3x2,y=3")
    assert refused.returncode == 2 and "a for loop at line 31 inside a rolled loop" in refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1


TANGENT = [name for name in dir(tangent_functions) if not name.startswith("_") and name not in ("np", "rnn")]


@pytest.mark.parametrize("name", TANGENT)
@pytest.mark.parametrize("a", [1.3, -0.7, 25.0])
def test_tangent_loop_and_branch_functions_stage(name, a):
    """google/tangent's loop and branch test functions, staged at points on both sides of their
    branches: gradient == central differences of the function (and sympy.diff when scalar)."""
    fn = getattr(tangent_functions, name)
    params = list(inspect.signature(fn).parameters)
    point = dict(zip([p for p in params if p != "n"], (a, 0.7)))
    constants = {"n": 2} if "n" in params else None
    prog = derive.stage(fn, unroll=True, at=point, constants=constants)
    given = {k: np.float64(v) for k, v in point.items()}
    grad = prog.run(**given).grad
    numeric = central_gradient(lambda p: fn(**p, **(constants or {})), point, h=1e-6, relative=True)
    for k in point:
        assert float(grad[k]) == pytest.approx(numeric[k], rel=1e-5, abs=1e-6)
    if not prog.arrays:
        expr = prog.expr()
        for k, v in point.items():
            exact = sp.diff(expr, sp.Symbol(k, real=True)).subs({sp.Symbol(q, real=True): w for q, w in point.items()})
            assert grad[k] == pytest.approx(float(exact), rel=1e-12, abs=1e-12)
