"""One row per primitive: every table is built from the rows, and a gate registered at run time
goes through every part of derive (parse, stage, run, check, printers, circuit, sheet, exercises).

The tests are parametrised over the rows, so a new row is tested without editing this file.
"""
import math

import numpy as np
import pytest
import sympy as sp

from derive import check, stage
from derive.core import rules
from derive.core.rules import A, ARRAY_RULES, RULES

CALLED = [r for r in RULES.values() if r.called]
A_REAL, B_REAL = sp.symbols("a b", real=True)


def _spelling(rule, prefix="np."):
    """How a Python function calls the row: its NumPy alias, else its bare name."""
    return next((a for a in rule.aliases if a.startswith(prefix)), rule.name if rule.called else None)


def _wrap(rule, arg):
    """An expression mapping any real ``arg`` into the row's sample interval."""
    lo, hi = rule.sample
    return f"({lo} + {hi - lo} * sigmoid({arg}))"


# ---- every row is in every table built from the rows ---------------------------------------------
def tables():
    import importlib

    naming, numerics, printing, sheet_tex, sheet_source, sympy_graph, vector_parse = (
        importlib.import_module(f"derive.{m}") for m in (
            "core.naming", "core.numerics", "printing.printers", "sheets.tex", "sheets.source",
            "frontend.sympy_graph", "frontend.arrays"))
    from derive.circuit.layout import ARRAY_LABELS
    from derive.symbolic.jacobians import SYMPY_NS
    from derive.staging.array_program import header

    return dict(naming=naming, numerics=numerics, printing=printing, sheet_tex=sheet_tex,
                sheet_source=sheet_source, sympy_graph=sympy_graph, vector_parse=vector_parse,
                ARRAY_LABELS=ARRAY_LABELS, SYMPY_NS=SYMPY_NS, header=header)


@pytest.mark.parametrize("rule", list(RULES.values()), ids=lambda r: r.name)
def test_every_row_is_in_every_table(rule):
    t = tables()
    spellings = rule.aliases + ((rule.name,) if rule.called else ())
    assert all(rules.CALL_NAMES[s] == rule.name for s in spellings)
    if not rule.called:
        return
    assert rule.name in rules.FUNCTIONS
    py = rule.pyname
    for ns, impl in zip(("MATH_NS", "NUMPY_NS", "MPMATH_NS"), rule.impl):
        assert getattr(t["numerics"], ns)[py] is impl
    assert py in t["naming"]._RESERVED
    imports = "\n".join(t["numerics"].python_imports())
    assert py in imports or py in ("abs", "max", "min")
    for typ in rule.sympy_types:
        assert t["sympy_graph"]._BY_TYPE[typ] == rule.name
        name = typ.__name__
        for printer in ("CodePrinter", "NumpyPrinter"):
            assert f"_print_{name}" in vars(getattr(t["printing"], printer))
        if not typ.__module__.startswith("sympy"):
            assert f"_print_{name}" in vars(t["printing"].LatexPrinter)
            assert name in t["numerics"].LAMBDIFY_NS
        if rule.latex_head:
            assert t["sheet_tex"]._HEADS[name] == rule.latex_head
        if rule.typst:
            assert t["sheet_source"]._TYPST[name] == rule.typst
    spelling = rule.numpy or py
    if "{" not in spelling and "." not in spelling:  # a bare NumPy name: derive's own function
        assert t["numerics"].ARRAY_NS[spelling] is rule.impl[1]
        assert spelling in t["header"]() and spelling in t["SYMPY_NS"]
    np_alias = _spelling(rule)
    if np_alias.startswith("np."):
        assert np_alias in t["vector_parse"]._supported()


@pytest.mark.parametrize("rule", list(ARRAY_RULES.values()), ids=lambda r: r.name)
def test_every_array_row_is_in_every_table(rule):
    t = tables()
    assert all(rules.ARRAY_CALLS[c] == rule.name for c in rule.calls)
    assert t["ARRAY_LABELS"][rule.name] == (rule.label or rule.name)
    for call in rule.calls:
        if "." not in call:
            assert t["numerics"].ARRAY_NS[call] is rule.impl and call in t["header"]()
        if call.startswith("np."):
            assert call in t["vector_parse"]._supported()
        if rule.symbolic is not None and call.startswith("np.") and call.count(".") == 1:
            assert getattr(t["SYMPY_NS"]["np"], call[3:]) is rule.symbolic


# ---- each row's numbers, derivatives and printed code ------------------------------------------
@pytest.mark.parametrize("rule", CALLED, ids=lambda r: r.name)
def test_numeric_functions_agree_with_the_sympy_form(rule):
    import mpmath

    rng = np.random.default_rng(3)
    args = (A_REAL, B_REAL)[:rule.arity]
    exact = rules.apply(rule.name, *args)
    for _ in range(5):
        pt = [float(v) for v in rng.uniform(*rule.sample, size=rule.arity)]
        ref = float(exact.xreplace(dict(zip(args, pt))).evalf(30))
        assert rule.impl[0](*pt) == pytest.approx(ref, rel=1e-12, abs=1e-14)
        assert float(rule.impl[1](*[np.array([v]) for v in pt])[0]) == pytest.approx(ref, rel=1e-12, abs=1e-14)
        with mpmath.workdps(30):
            assert float(rule.impl[2](*[mpmath.mpf(v) for v in pt])) == pytest.approx(ref, rel=1e-14, abs=1e-15)


@pytest.mark.parametrize("rule", CALLED, ids=lambda r: r.name)
def test_staged_gate_matches_sympy_diff_and_central_differences(rule):
    call = _spelling(rule, "") if rule.sugar else rule.name
    text = f"{call}(x)" if rule.arity == 1 else f"{call}(x, y)"
    report = check(text, low=rule.sample[0], high=rule.sample[1], points=4, seed=1)
    assert report.ok, report
    prog = stage(text)
    ns = {}
    exec(compile(prog.to_python(), "<printed>", "exec"), ns)  # derive's printed code
    point = {p: 0.5 * (rule.sample[0] + rule.sample[1]) + 0.1 * k for k, (p, _) in enumerate(prog.params)}
    value, grad = ns["f_and_grad"](**point)
    result = prog.run(**point)
    assert value == pytest.approx(result.value) and grad == pytest.approx(result.grad)


@pytest.mark.parametrize("rule", [r for r in CALLED if _spelling(r) not in ("abs", "max", "min")],
                         ids=lambda r: r.name)
def test_gate_on_arrays_matches_sympy_diff_and_central_differences(rule):
    from derive.symbolic.jacobians import check_arrays

    call = _spelling(rule)
    args = ", ".join(_wrap(rule, p) for p in "AB"[:rule.arity])
    src = f"def f(A, B):\n    return np.sum({call}({args}) * B)\n"
    prog = stage(src, shapes={"A": (3, 2), "B": (3, 2)})
    report = check_arrays(prog, seed=2)
    assert report.ok, report
    ns = {}
    exec(compile(prog.to_python(), "<printed>", "exec"), ns)  # derive's printed NumPy code
    rng = np.random.default_rng(0)
    arrays = {"A": rng.normal(size=(3, 2)), "B": rng.normal(size=(3, 2))}
    value, grad = ns["f_and_grad"](**arrays)
    result = prog.run(**arrays)
    assert value == pytest.approx(result.value)
    assert all(np.allclose(grad[k], result.grad[k]) for k in result.grad)


# ---- a gate brought at run time ------------------------------------------------------------------
@pytest.fixture
def softsign():
    row = rules.register(name="softsign", formula=A / (1 + sp.Abs(A)), label="ss")
    yield row
    rules.unregister("softsign")


def test_registered_gate_goes_through_every_part(softsign, tmp_path):
    from derive.teach import exercises
    from derive.circuit.draw import circuit
    from derive.symbolic.jacobians import check_arrays
    from derive.printing.printers import latex
    from derive.sheets.sheet import sheets_for
    from derive.sheets.tex import tex_tokens
    from derive.sheets.source import typst_source

    # parse, stage, run, check (scalar): an expression string and a Python function
    prog = stage("softsign(x) * y")
    r = prog.run(x=0.7, y=-1.5)
    assert r.value == pytest.approx(0.7 / 1.7 * -1.5)
    assert r.grad["x"] == pytest.approx(-1.5 / 1.7**2)
    assert check(prog, seed=3).ok
    fprog = stage("def g(x, y):\n    s = softsign(x)\n    return s * y\n")
    assert fprog.run(x=0.7, y=-1.5).grad == pytest.approx(r.grad)
    # Python printer: the printed function runs and agrees
    ns = {}
    exec(compile(prog.to_python(), "<printed>", "exec"), ns)
    assert ns["f_and_grad"](0.7, -1.5)[1] == pytest.approx(r.grad)
    # LaTeX and Typst
    assert r"\operatorname{softsign}\left(x\right)" in latex(prog.forward[0].rhs)
    assert tex_tokens(prog.forward[0].rhs, limit=5)[0].startswith(r"\operatorname{softsign}")
    sheets = sheets_for(prog, {"x": 0.7, "y": -1.5})
    assert '"softsign"(x)' in typst_source(sheets)
    # circuit
    assert "ss" in [n.label for n in circuit(prog, x=0.7, y=-1.5).nodes.values()]
    # arrays: stage, run, check, the printed NumPy code, the array circuit
    src = "def h(W, x):\n    return np.sum(softsign(W @ x))\n"
    aprog = stage(src, shapes={"W": (2, 3), "x": (3,)})
    assert any("softsign(" in str(ln) for ln in aprog.forward)
    assert check_arrays(aprog, seed=1).ok
    ns = {}
    exec(compile(aprog.to_python(), "<printed>", "exec"), ns)
    W, x = np.array([[1.0, -2.0, 0.5], [0.3, 0.2, -1.0]]), np.array([0.5, -0.25, 2.0])
    assert np.allclose(ns["h_and_grad"](W, x)[1]["W"], aprog.run(W=W, x=x).grad["W"])
    assert "ss" in [n.label for n in circuit(aprog).nodes.values()]
    # the exercise checker grades a learner's derivative of the new gate
    folder = tmp_path / "softsign_local"  # an exercise is a directory: its exercise.toml
    folder.mkdir()
    (folder / "exercise.toml").write_text('title = "Local gradient of softsign"\n[outputs]\n'
                                          'dsoftsign = "softsign(x)"\n[params.x]\nrange = [-2, 2]\n'
                                          '[example]\nx = 0.5\n')

    def right(x):
        return 1 / (1 + abs(x)) ** 2

    def wrong(x):
        return 1 / (1 + abs(x))

    assert exercises.check(str(folder), right).passed
    assert not exercises.check(str(folder), wrong).passed


def test_registered_gate_is_gone_after_unregister():
    rules.register(name="cube", formula=A**3)
    assert stage("cube(x)").run(x=2.0).grad["x"] == pytest.approx(12.0)
    rules.unregister("cube")
    from derive.core.errors import DeriveError

    with pytest.raises(DeriveError, match="unknown function 'cube'"):
        stage("cube(x)")


def test_register_refuses_a_taken_name_with_one_line():
    from derive.core.errors import DeriveError

    with pytest.raises(DeriveError, match="'exp' is already a gate"):
        rules.register(name="exp", formula=A)
    with pytest.raises(DeriveError, match="formula"):
        rules.register(name="nothing")


def test_math_of_a_registered_gate_is_importable_from_primitives(softsign):
    from derive.core import primitives

    assert primitives.softsign(-3.0) == pytest.approx(-0.75)
    assert not math.isnan(primitives.softsign(0.0))
