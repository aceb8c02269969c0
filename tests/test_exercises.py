"""Exercises: templates, derived keys (vs sympy.diff and central differences), check() feedback."""
import json
import os
import sys

import numpy as np
import pytest
import sympy as sp

from derive.teach import exercises
from derive.core.errors import DeriveError
from derive.teach.misconceptions import LABELS
from tests.submissions import CORRECT, SHAPE_ERROR, WRONG

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = list(exercises.EXERCISES)


def _fn(source):
    ns = {}
    exec(compile(source, "<submission>", "exec"), ns)
    return ns["backward"]


def test_the_builtin_exercises():
    assert NAMES == ["sigmoid_neuron", "staged_fxy", "total_derivative", "activations", "matmul",
                     "two_layer", "two_layer_batch"]


@pytest.mark.parametrize("name", NAMES)
def test_template_raises_with_its_name(name):
    with open(os.path.join(ROOT, "exercises", name, "template.py")) as fh:
        fn = _fn(fh.read())
    ex = exercises.get(name)
    with pytest.raises(NotImplementedError, match=name):
        fn(*[ex.example[p] for p in ex.params])
    grade = exercises.check(name, fn)
    assert grade.score == 0 and "not attempted" in grade.message


@pytest.mark.parametrize("name", NAMES)
def test_notebook_template_matches_py(name):
    sys.path.insert(0, os.path.join(ROOT, "exercises"))
    try:
        import make_notebooks
    finally:
        sys.path.pop(0)
    with open(os.path.join(ROOT, "exercises", name, "template.ipynb")) as fh:
        assert json.load(fh) == json.loads(json.dumps(make_notebooks.notebook(name)))
    assert os.path.exists(os.path.join(ROOT, "exercises", name, "README.md"))


@pytest.mark.parametrize("name", NAMES)
def test_correct_submission_full_marks(name):
    grade = exercises.check(name, _fn(CORRECT[name]))
    assert grade.passed, grade.text()
    assert grade.misconceptions == [] and grade.score == grade.max_score == len(grade.tests)


CASES = [(name, label, src) for name, cases in WRONG.items() for label, src in cases]


@pytest.mark.parametrize("name,label,src", CASES, ids=[f"{n}-{lab}" for n, lab, _ in CASES])
def test_misconception_is_named_with_partial_marks(name, label, src):
    grade = exercises.check(name, _fn(src))
    assert label in grade.misconceptions, grade.text()
    assert grade.score < grade.max_score, grade.text()
    assert LABELS[label] in grade.text()


def test_first_wrong_line_is_named_with_both_values():
    src = dict(WRONG["staged_fxy"])["sign"]
    grade = exercises.check("staged_fxy", _fn(src))
    assert "first wrong line: dden at point 1 (x=3, y=-4) is 0.791593 but should be -0.791593" in grade.message


@pytest.mark.parametrize("name,label,line", [
    ("staged_fxy", "fork-overwrite", "dx"), ("total_derivative", "sign", "df"),
    ("total_derivative", "fork-overwrite", "dx"), ("sigmoid_neuron", "sigmoid-local-gradient", "ddot"),
    ("two_layer", "missing-upstream", "dz1"), ("two_layer", "sign", "dr"),
])
def test_first_wrong_line_in_backward_order(name, label, line):
    grade = exercises.check(name, _fn(dict(WRONG[name])[label]))
    assert f"first wrong line: {line} at " in grade.message, grade.message


def test_wrong_forward_value_is_named_first():
    src = dict(WRONG["sigmoid_neuron"])["precedence"]
    grade = exercises.check("sigmoid_neuron", _fn(src))
    assert "first wrong forward value: f" in grade.message and "should be 0.731059" in grade.message


def test_shape_error_names_transpose():
    grade = exercises.check("matmul", _fn(SHAPE_ERROR))
    assert grade.score == 0 and grade.misconceptions == ["transpose"]


@pytest.mark.parametrize("name", [n for n in NAMES if not exercises.EXERCISES[n].vector])
def test_staged_key_agrees_with_sympy_diff(name):
    ex = exercises.get(name)
    for point in ex.points(seed=7, student="ada"):
        key = ex.key(point)
        for out, param in zip(ex.outputs, ex.params):
            prog = ex.program or ex.programs[out]
            expr = prog.expr()
            subs = {s: (point[s.name.split("[")[0]][int(s.name[-2])] if "[" in s.name else point[s.name])
                    for s in prog.inputs}
            want = [float(sp.diff(expr, s).subs(subs)) for s in prog.inputs
                    if s.name.split("[")[0] == param]
            got = np.atleast_1d(key.outputs[out])
            assert np.allclose(got, want, rtol=1e-9), (name, out)
        ex.verify(point, key)  # central differences


@pytest.mark.parametrize("name", ["matmul", "two_layer"])
def test_vector_key_agrees_with_central_differences(name):
    ex = exercises.get(name)
    for point in ex.points(seed=3, student="bo"):
        ex.verify(point, ex.key(point))
    bad = exercises.Key(*ex.key(point).__dict__.values())
    first = ex.outputs[0]
    bad.outputs = {**bad.outputs, first: bad.outputs[first] + 1e-3}
    with pytest.raises(DeriveError, match="central differences"):
        ex.verify(point, bad)


def test_points_differ_per_student_and_reproduce():
    ex = exercises.get("staged_fxy")
    assert ex.points(1, "ada") == ex.points(1, "ada") == exercises.my_values("staged_fxy", "ada", 1)
    assert ex.points(1, "ada") != ex.points(1, "bo")
    assert ex.points(1, "ada") != ex.points(2, "ada")


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(DeriveError, match="unknown exercise 'nope'; the exercises are: sigmoid_neuron"):
        exercises.get("nope")
