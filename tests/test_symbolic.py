"""derive.symbolic.derivatives, derive.symbolic.metrics, derive.symbolic.budget, derive.symbolic.paths, derive.symbolic.chainrule.

Every gradient form is checked against the staged gradient at random points, the staged
gradient against an independent ``sympy.diff`` and central differences; metrics against
counts made by hand.
"""
import math
import random
import time

import pytest
import sympy as sp

from derive import stage
from derive.symbolic.budget import check_budget, within
from derive.symbolic.chainrule import numeric_cost, slope, vector_chain, vector_lines
from derive.core.errors import DeriveError
from derive.symbolic.families import build
from derive.symbolic.metrics import count_ops, dag_nodes, expression_metrics, program_metrics, tree_nodes
from derive.symbolic.paths import count_paths, forks, total_derivative
from derive.core.rules import sigmoid
from derive.symbolic.derivatives import FORMS, form, forms, gradient, jacobian

x, y, t = sp.symbols("x y t", real=True)   # derive's program variables are real

SHEET_1A = "def l(x):\n    f = x**2\n    return f**2 + x**2\n"

# (text to stage, the same function built directly in SymPy, where to sample)
CATALOGUE = [
    ("(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)",
     (sigmoid(y) + x) / (sigmoid(x) + (x + y) ** 2), (-2, 2)),
    ("x**4 + x**2", x ** 4 + x ** 2, (-2, 2)),
    ("x*y*t + sin(x*y) - exp(t)/y", x * y * t + sp.sin(x * y) - sp.exp(t) / y, (0.5, 2)),
    ("log(x + y**2) * sqrt(x)", sp.log(x + y ** 2) * sp.sqrt(x), (0.5, 2)),
    ("tanh(x*y) + abs(x - 2*y)", sp.tanh(x * y) + sp.Abs(x - 2 * y), (0.3, 2)),
    ("4*(4*x*(1 - x))*(1 - 4*x*(1 - x))", 4 * (4 * x * (1 - x)) * (1 - 4 * x * (1 - x)), (0.05, 0.95)),
]


def _points(prog, k, lo, hi, seed=1):
    rng = random.Random(seed)
    return [{n: rng.uniform(lo, hi) for n, _ in prog.params} for _ in range(k)]


def _flat(grad):
    out = []
    for v in grad.values():
        out += v if isinstance(v, list) else [v]
    return out


def _central(prog, pt, h=1e-6):
    out = []
    for n, _ in prog.params:
        up, dn = dict(pt), dict(pt)
        up[n] += h
        dn[n] -= h
        out.append((prog.run(**up).value - prog.run(**dn).value) / (2 * h))
    return out


# ---- metrics against hand counts ---------------------------------------------------------
def test_metrics_of_known_expressions():
    e = x * y + sp.sin(x)                # Add(Mul(x, y), sin(x))
    assert count_ops([e]) == 3            # +, *, sin
    assert tree_nodes([e]) == 6           # Add, Mul, x, y, sin, x
    assert dag_nodes([e]) == 5            # x counted once
    shared = sp.sin(x + y) * (x + y)      # the sum x + y appears twice
    assert tree_nodes([shared]) == 8      # Mul, sin, (Add, x, y), (Add, x, y)
    assert dag_nodes([shared]) == 5       # Mul, sin, x + y, x, y
    m = expression_metrics([e])
    assert m["chars"] == len("x*y + sin(x)")
    assert m["latex"] == len(r"x y + \sin{\left(x \right)}")


def test_tree_nodes_counts_repetition_without_walking_it():
    e = x
    for _ in range(60):                   # a tree of 2**61 - 1 nodes, a DAG of 61
        e = sp.Function("g")(e, e)
    assert tree_nodes([e]) == 2 ** 61 - 1
    assert dag_nodes([e]) == 61


def test_program_metrics_of_the_logistic_map_by_hand():
    # l3 = 4*l2*(1 - l2), l2 = 4*x*(1 - x): 3 forward gates per step; backward: 8 ops
    prog = stage(build("logistic", 3).text)
    m = program_metrics(prog)
    assert (m["forward_lines"], m["forward_ops"]) == (6, 6)
    assert (m["backward_lines"], m["backward_ops"]) == (9, 8)   # the seed dl3 = 1 costs nothing
    assert m["ops"] == 14 and m["ratio"] == round(8 / 6, 3)


def test_copy_lines_cost_nothing():
    prog = stage("x + y")                 # dx = 1, dy = 1: no arithmetic
    assert prog.backward_ops == 0
    prog = stage("sigmoid(x + y)")        # dxpy = (1 - f)*f: 2 ops, then two copies
    assert prog.backward_ops == 2


# ---- the gradient and its forms ----------------------------------------------------------
def test_gradient_is_sympy_diff():
    g = gradient("x*y + sin(x) + abs(x)")
    assert g["x"] == y + sp.cos(x) + sp.sign(x)
    assert g["y"] == x


def test_jacobian():
    assert jacobian([x * y, x + y], [x, y]) == sp.Matrix([[y, x], [1, 1]])


@pytest.mark.parametrize("text,expr,box", CATALOGUE, ids=[c[0][:24] for c in CATALOGUE])
def test_every_form_equals_the_staged_gradient(text, expr, box):
    prog = stage(text)
    pts = _points(prog, 2, *box)
    fs = forms(prog, budget=20, points=pts, keep=True)
    assert list(fs) == list(FORMS)
    for pt, k in zip(pts, range(len(pts))):
        res = prog.run(**pt)
        staged = _flat(res.grad)
        # staged vs an independent sympy.diff of the function built directly in SymPy
        real = {s: sp.Symbol(s.name, real=True) for s in expr.free_symbols}
        er = expr.xreplace(real)
        subs = {sp.Symbol(n, real=True): v for n, v in pt.items()}
        reference = [float(sp.diff(er, real[s]).evalf(30, subs=subs)) for s in prog.inputs]
        assert staged == pytest.approx(reference, rel=1e-9, abs=1e-12)
        assert staged == pytest.approx(_central(prog, pt), rel=1e-5, abs=1e-6)
        for name, f in fs.items():
            assert f.ok, (name, f.status)
            assert f.values[k] == pytest.approx(staged, rel=1e-9, abs=1e-12), name


def test_form_metrics_are_the_forms_own():
    prog = stage("4*(4*x*(1 - x))*(1 - 4*x*(1 - x))")     # the logistic map, n = 3
    fs = forms(prog, budget=20, keep=True)
    assert fs["raw"].metrics["ops"] == 21                  # Baydin's swell, as derive measures it
    assert fs["raw"].metrics["ops"] == sp.count_ops(fs["raw"].expr[0])
    assert sp.expand(fs["expanded"].expr[0]) == fs["expanded"].expr[0]
    reps, reduced = fs["cse"].expr
    assert fs["cse"].metrics["lines"] == len(reps) + 1
    assert fs["cse"].metrics["ops"] == sum(sp.count_ops(v) for _, v in reps) + sp.count_ops(reduced[0])


# ---- the time budget ---------------------------------------------------------------------
def test_slow_simplify_gives_up_within_budget():
    prog = stage(build("logistic", 9).text)   # simplify takes minutes here
    start = time.perf_counter()
    f = form(prog, "simplified", budget=1)
    elapsed = time.perf_counter() - start
    assert f.status == "gave up after 1 s" and f.metrics is None
    assert elapsed < 1 + 1


def _sleep_forever():
    while True:
        time.sleep(0.05)


def _boom():
    raise ValueError("bad\nthing")


def test_within_kills_and_reports():
    start = time.perf_counter()
    out = within(0.3, _sleep_forever)
    assert out.status == "gave up after 0.3 s" and time.perf_counter() - start < 1.3
    assert within(5, _boom).status == "error: ValueError: bad thing"
    assert within(5, pow, 2, 10).value == 1024


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "soon", None])
def test_bad_budget(bad):
    with pytest.raises(DeriveError, match="budget"):
        check_budget(bad)


# ---- the total derivative ----------------------------------------------------------------
def test_sheet_1a_paths_terms_and_the_single_path_mistake():
    td = total_derivative("f**2 + g**2", {"f": "x**2", "g": "x"}, output="l", at={"x": 2})
    assert [[s.name for s in p.nodes] for p in td.paths] == [["x", "f", "fsqr", "l"], ["x", "g", "gsqr", "l"]]
    assert [p.term for p in td.paths] == [4 * x ** 3, 2 * x]
    assert td.total == 4 * x ** 3 + 2 * x == sp.diff(x ** 4 + x ** 2, x)
    assert td.agrees and td.value == 36.0
    assert td.mistakes() == [(1, 32.0, 4.0), (2, 4.0, 32.0)]
    # the two terms meet in dx: one path writes it, the other adds with +=
    firsts = [p.lines[0] for p in td.paths]
    assert sorted(bl.accumulate for bl in firsts) == [False, True]
    assert "+= " in td.to_text() and "off by 4.0" in td.to_text()


def test_f_of_x_of_t_and_y_of_t():
    td = total_derivative("x*y", {"x": "cos(t)", "y": "sin(t)"}, at={"t": 0.7})
    assert td.count == 2 and td.agrees
    assert sp.simplify(td.total - sp.diff(sp.cos(t) * sp.sin(t), t)) == 0
    assert sum(p.value for p in td.paths) == pytest.approx(td.value, rel=1e-12)
    h = 1e-6
    fd = (math.cos(0.7 + h) * math.sin(0.7 + h) - math.cos(0.7 - h) * math.sin(0.7 - h)) / (2 * h)
    assert td.value == pytest.approx(fd, rel=1e-7)


def test_paths_through_a_staged_program():
    prog = stage("(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)")
    td = total_derivative(prog, wrt="x", at={"x": 3, "y": -4})
    assert td.count == 3 and td.agrees
    assert td.value == 2.059569795572165               # the CS231n notes' number
    assert sum(p.value for p in td.paths) == pytest.approx(td.value, rel=1e-12)
    assert [s.name for s in forks(prog)] == ["x", "y"]


def test_count_paths_doubles_along_the_logistic_map():
    for n in range(2, 7):
        prog = stage(build("logistic", n).text)
        assert count_paths(prog)[prog.inputs[0]] == 2 ** (n - 1)


@pytest.mark.parametrize("args,msg", [
    (("f + g", {"f": "x", "g": "x"}), "same function"),
    (("f + g", {"f": "x +", "g": "x"}), "syntax error"),
    (("f*y", {"f": "x"}, "z"), "not an input"),
    (("f*y", {"f": "x"}), "which input"),
])
def test_total_derivative_bad_input(args, msg):
    with pytest.raises(DeriveError, match=msg):
        total_derivative(*args)


# ---- the vector chain rule and the cost of numeric gradients -----------------------------
@pytest.mark.parametrize("d", [2, 3])
def test_vector_chain_rule(d):
    vc = vector_chain(d)
    assert vc.equal
    names = [n for n, _ in vc.jacobians]
    jac = dict(vc.jacobians)
    W1 = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"W1[{i * d + j}]", real=True))
    W2 = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"W2[{i * d + j}]", real=True))
    assert jac[names[0]] == W1 and jac[names[2]] == W2
    act = jac[names[1]]
    assert all(act[i, j] == 0 for i in range(d) for j in range(d) if i != j)
    # the product of Jacobians against the staged program's gradient, at a random point
    prog = stage(build("two-layer", d).text)
    rng = random.Random(d)
    pt = {n: [rng.uniform(-1, 1) for _ in range(size)] for n, size in prog.params}
    subs = {s: pt[s.name.split("[")[0]][int(s.name[:-1].split("[")[1])] for s in prog.inputs}
    product = [float(v.xreplace({k: sp.Float(w, 30) for k, w in subs.items()}).evalf(30)) for v in vc.product]
    assert product == pytest.approx(prog.run(**pt).grad["x"], rel=1e-9)


def test_vectorised_program_has_the_sheets_lines():
    assert vector_lines() == (5, 8)   # sheet 1(d): x1..x4, l; dx4, dx3, dx2, dW2, dx1, dx, db, dW1


def test_numeric_versus_analytic_cost():
    rows = numeric_cost(range(2, 6))
    for r in rows:
        d = r["d"]
        assert r["forward_ops"] == 4 * d * d + 3 * d            # counted by hand, see chainrule
        assert r["fd_evaluations"] == d * d + 1
        assert r["fd_ops"] == (d * d + 1) * r["forward_ops"] + 2 * d * d
        assert r["fd_max_error"] < 1e-5                          # the numbers agree too
    assert slope(rows, "fd_ops") > 3.3 and slope(rows, "staged_ops") < 2.2


def test_cost_plot(tmp_path):
    from derive.symbolic.plots import cost_plot

    out = tmp_path / "cost.png"
    cost_plot(numeric_cost(range(2, 4), check=False), str(out))
    assert out.read_bytes()[:4] == b"\x89PNG"
