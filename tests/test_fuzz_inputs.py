"""Fuzzed inputs (issue 11, item 6): every bad input is one line and exit 2, the API raises only
DeriveError, and inputs at the size limit answer (or are refused) without hanging.

Most cases call ``derive.cli.main.main`` in this process under an alarm (a hang fails the test);
the size cases run the real command in a subprocess with a timeout.
"""
import contextlib
import io
import math
import random
import signal

import pytest

from derive import DeriveError, stage
from derive.cli.main import main
from derive.cli.commands._source import parse_at
from derive.frontend.parse import MAX_NODES
from tests.conftest import assert_one_line_error, run_cli


class _Hang(Exception):
    pass


def _alarm(*_):
    raise _Hang()


def cli(*args, seconds=20):
    """(exit status, stdout, stderr) of ``derive ARGS``, in process; a hang fails the test."""
    out, err = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(list(args))
    except _Hang:
        pytest.fail(f"derive {' '.join(a[:40] for a in args)} did not answer in {seconds} s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return rc, out.getvalue(), err.getvalue()


def one_line_error(args, *fragments, seconds=20):
    rc, out, err = cli(*args, seconds=seconds)
    assert rc == 2, (args, rc, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("derive: error: "), err
    assert "internal error" not in err and "Traceback" not in err + out
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])
    return lines[0]


# ---- the cases of the issue ---------------------------------------------------------------
@pytest.mark.parametrize("args, fragment", [
    (["graph", "exp(exp(exp(1000)))", "--dot"], "exp(1000) overflows"),
    (["stage", "(min(exp(1e308), exp(1e308))**tanh(1e308))"], "exp(1e+308) overflows"),
    (["stage", "cos(exp(1e308))"], "exp(1e+308) overflows"),
    (["stage", "exp(sqrt(1e308))"], "exp(1e+154) overflows"),
    (["stage", "(cos(2.5)**exp(1))"], "is not a finite real number (its value is complex)"),
    (["stage", "x*y", "--at", "x=1,x=2"], "x is given twice"),
])
def test_issue_cases_are_one_line_errors(args, fragment):
    line = one_line_error(args, fragment)
    assert "nested too deeply" not in line


@pytest.mark.parametrize("text, fragment", [
    ("exp(sqrt(1e308))", "overflows"),
    ("(cos(2.5)**exp(1))", "complex"),
    ("x + exp(710)", "overflows"),
    ("x * (1e300 * 1e300)", "overflows"),
    ("x * 1e300 * 1e300", "overflow"),
    ("(-2)**x", "no real derivative"),
    ("0**x", "no real derivative"),
])
def test_api_raises_only_derive_error(text, fragment):
    with pytest.raises(DeriveError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        prog = stage(text)
        prog.run(**{s.name: 0.5 for s in prog.inputs})


@pytest.mark.parametrize("text, at, fragment", [
    ("relu(y**0.5)", {"y": -745.0}, "complex value"),
    ("y**0.5", {"y": -2.0}, "in forward line (1) `f = y**0.5`"),
    ("x", {"x": 10**400}, "too large for float64"),
])
def test_run_names_complex_and_huge_values(text, at, fragment):
    prog = stage(text)
    for exact in (False, True):
        with pytest.raises(DeriveError) as info:
            prog.run(exact=exact, **at)
        assert fragment in str(info.value)


def test_exact_constants_draw_and_evaluate():
    """Constants that are not plain numbers (E, exp(2), sqrt(2)) are not variables anywhere."""
    rc, out, err = cli("graph", "x*exp(2) + max(x, sqrt(2))", "--dot")
    assert rc == 0 and "\"f\" [label=\"+\"" in out, err
    r = stage("max(x, exp(1))").run(x=1.0)
    assert r.grad["x"] == 0.0 and r.notes == []


# ---- --at ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text, fragment", [
    ("x=1,x=2", "x is given twice"),
    ("x=1,y=2**3", "must be a number"),
    ("x=1,**{'a':1}", "expected name=value pairs"),
    ("x=" + "9" * 5000, "expected name=value pairs"),
    ("x=" + "-" * 50_000 + "1", "nested too deeply"),
    ("x=" + "[" * 5000 + "1" + "]" * 5000, "expected name=value pairs"),
    ("x" * 200_000, "too long"),
])
def test_at_values(text, fragment):
    with pytest.raises(DeriveError, match=fragment.replace("*", r"\*")) as info:
        parse_at(text)
    assert len(str(info.value)) < 200  # the bad text is shortened, not echoed whole


def test_at_huge_integer_is_named():
    one_line_error(["stage", "x", "--at", "x=" + "9" * 400], "too large for float64")


# ---- size: linear, limited, never a hang ----------------------------------------------------
def _count_sympy_add_args(monkeypatch, text):
    """Total number of arguments SymPy's Add receives while building ``stage(text).expr()``."""
    import sympy as sp

    prog = stage(text)
    seen = [0]
    real_new = sp.Add.__new__

    def counting(cls, *args, **kw):
        seen[0] += len(args)
        return real_new(cls, *args, **kw)

    monkeypatch.setattr(sp.Add, "__new__", counting)
    prog.expr()
    monkeypatch.undo()
    return seen[0]


def test_expression_of_a_sum_is_built_in_linear_work(monkeypatch):
    small = _count_sympy_add_args(monkeypatch, "+".join(f"x{i}" for i in range(200)))
    big = _count_sympy_add_args(monkeypatch, "+".join(f"x{i}" for i in range(800)))
    assert big <= 4 * small + 10  # a fold would hand Add 1 + 2 + ... + n arguments


def test_expression_of_a_chain_is_the_fold():
    from derive.core.rules import apply

    for text in ["x - y + 2*x - (x + y)*3 + 1/x", "x*y*x*(x + 1)*2*y", "(x + 1)**2 * 2 / (x + 1) * y",
                 "x*y - x - sigmoid(x*y) + x*y*y"]:
        prog = stage(text)
        env = {s: s for s in prog.inputs}
        for ln in prog.forward:
            env[ln.target] = apply(ln.op, *[env.get(a, a) for a in ln.args])
        assert prog.expr() == env[prog.output], text


def test_100kb_sum_is_refused_by_the_command():
    proc = run_cli("stage", "+".join(["x"] * 50_000), timeout=60)
    assert_one_line_error(proc, "too large", f"{MAX_NODES:,}")


@pytest.mark.parametrize("op, count", [("+", 50_000), ("*", 60_000)])
@pytest.mark.parametrize("command", ["stage", "compare"])
def test_100kb_input_is_refused_quickly(op, count, command):
    one_line_error([command, op.join(["x"] * count)], "too large", f"{MAX_NODES:,}", seconds=30)


def test_input_at_the_limit_stages():
    rc, out, err = cli("stage", "+".join(["x"] * (MAX_NODES - 100)), seconds=60)
    assert rc == 0, err
    assert f"x is used {MAX_NODES - 100} times" in out


def test_many_inputs_compare_answers_within_budget():
    """Central differences over 300 inputs are batched; the symbolic forms stay under budget."""
    text = "+".join(f"x{i}" for i in range(300))
    rc, out, err = cli("compare", text, "--budget", "0.5", "--points", "1", seconds=60)
    assert rc == 0, err
    assert "staged gradient vs central differences: yes" in out


def test_check_gives_up_within_its_budget():
    from derive.symbolic.families import family

    text = family("logistic").build(40).text
    line = one_line_error(["stage", text, "--check", "--budget", "1"], "--check gave up after 1 s", seconds=60)
    assert "derive compare" in line


def test_check_still_passes():
    rc, out, err = cli("stage", "x * sin(y)", "--at", "x=1,y=2", "--check", seconds=60)
    assert rc == 0 and "OK" in out, err


# ---- a seeded fuzzer over the grammar ---------------------------------------------------------
_CONSTS = ["1e308", "1e-308", "5e-324", "0", "-0.0", "1e300", "710", "-745", "2", "0.5", "255", "9" * 30]
_NAMES = ["x", "y", "é", "x_1", "dx", "f", "t1", "a" * 40]
_F1 = ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "np.exp", "math.log"]


def _expr(rng, depth):
    if depth <= 0 or rng.random() < 0.25:
        return rng.choice(_CONSTS + _NAMES)
    r = rng.random()
    if r < 0.35:
        return f"({_expr(rng, depth - 1)}{rng.choice(['+', '-', '*', '/', '**'])}{_expr(rng, depth - 1)})"
    if r < 0.7:
        return f"{rng.choice(_F1)}({_expr(rng, depth - 1)})"
    if r < 0.8:
        return f"{rng.choice(['max', 'min'])}({_expr(rng, depth - 1)}, {_expr(rng, depth - 1)})"
    return f"-{_expr(rng, depth - 1)}"


_OPTIONS = [["stage"], ["stage", "--json"], ["stage", "--format", "latex"], ["stage", "--format", "markdown"],
            ["stage", "--format", "python"], ["graph", "--dot"], ["stage", "--gates", "primitive"],
            ["stage", "--float"]]


@pytest.mark.parametrize("seed", range(4))
def test_fuzzed_expressions(seed):
    rng = random.Random(seed)
    for _ in range(25):
        text = _expr(rng, rng.randint(1, 5))
        args = rng.choice(_OPTIONS) + [text]
        if rng.random() < 0.6:
            names = [n for n in _NAMES if n in text] or ["x"]
            args += ["--at", ",".join(f"{n}={rng.choice(_CONSTS)}" for n in dict.fromkeys(names))]
        rc, out, err = cli(*args)
        assert "internal error" not in err and "Traceback" not in err, (args, err)
        if rc == 2:
            assert len(err.strip().splitlines()) == 1, (args, err)
        else:
            assert rc == 0, (args, rc, err)


def test_long_chain_of_exact_constants_folds_to_a_number():
    """exp(1) + exp(2) + ... folds once per term; past a few operations it is a Float, so each fold
    is constant work (an exact sum would be evaluated again at every step)."""
    text = "+".join(f"exp({i % 50 + 1})" for i in range(1500)) + " + x"
    rc, out, err = cli("stage", text, "--at", "x=1", seconds=30)
    assert rc == 0, err
    prog = stage(text)
    (line,) = prog.forward
    const = next(a for a in line.args if a.is_Number)
    assert const.is_Float
    assert math.isclose(float(const), math.fsum(math.exp(i % 50 + 1) for i in range(1500)), rel_tol=1e-12)
