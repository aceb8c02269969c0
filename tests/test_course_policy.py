"""Fair grading and diagnosis: credit only for the learner's own right lines, every mistake named."""
import pytest

from derive.teach import exercises
from tests.submissions import CORRECT

TOTAL_HEAD = '''def backward(x):
    f = x**2
    g = x
    hf = f**2
    hg = g * g
    l = hf + hg
    dhf = 1.0
    dhg = 1.0
'''


def _fn(source):
    ns = {}
    exec(compile(source, "<submission>", "exec"), ns)
    return ns["backward"]


def test_two_mistakes_are_both_named_and_no_sign_fallback():
    # power rule wrong in df (f instead of 2*f) and dx overwritten instead of accumulated
    src = TOTAL_HEAD + '''    df = f * dhf
    dg = 2 * g * dhg
    dx = 2 * x * df
    dx = 1.0 * dg
    return dx
'''
    g = exercises.check("total_derivative", _fn(src))
    assert set(g.misconceptions) == {"power-rule", "fork-overwrite"}, g.text()
    assert "sign" not in g.misconceptions


def test_wrong_local_gradient_names_the_gate():
    src = TOTAL_HEAD + '''    df = 3 * f * dhf
    dg = 2 * g * dhg
    dx = 2 * x * df
    dx += 1.0 * dg
    return dx
'''
    g = exercises.check("total_derivative", _fn(src))
    assert g.misconceptions == ["wrong-local-gradient"], g.text()
    assert "its gate is hf = f**2" in g.message


def test_multiply_swap_is_named():
    src = CORRECT["staged_fxy"].replace("dnum = invden", "dnum = num")
    g = exercises.check("staged_fxy", _fn(src))
    assert "multiply-swap" in g.misconceptions, g.text()
    assert "sign" not in g.misconceptions


def test_swapped_return_order_is_named_without_credit_for_outputs():
    src = CORRECT["staged_fxy"].replace("return dx, dy", "return dy, dx")
    g = exercises.check("staged_fxy", _fn(src))
    assert g.misconceptions == ["return-order"]
    assert "returned as (dy, dx); return (dx, dy)" in g.message
    assert [t["score"] for t in g.tests[:2]] == [0, 0]


def test_untouched_template_lines_and_inlined_answers_get_no_line_credit():
    src = '''import math

def backward(x, y):
    sigy = 1.0 / (1 + math.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1 + math.exp(-x))
    xpy = x + y
    xpysqr = xpy**2
    den = sigx + xpysqr
    invden = 1.0 / den
    f = num * invden
    return 0.0, 0.0
'''
    g = exercises.check("staged_fxy", _fn(src))
    assert g.score == 0, g.text()   # invden == dnum by value, but it is the template's line
    inlined = CORRECT["total_derivative"].split("    dhf")[0] + "    return 4 * x**3 + 2 * x\n"
    g = exercises.check("total_derivative", _fn(inlined))
    assert g.tests[0]["score"] == 1 and g.tests[1]["score"] < 1, g.text()


def test_lines_are_matched_by_value_under_any_names():
    src = CORRECT["total_derivative"].replace("dhf", "upper_f").replace("dhg", "upper_g")
    g = exercises.check("total_derivative", _fn(src))
    assert g.passed, g.text()
    assert "upper_f (= dhf)" in g.tests[1]["output"]


def test_entirely_wrong_answer_gets_nothing():
    src = TOTAL_HEAD.replace("    dhf = 1.0\n    dhg = 1.0\n", "") + "    return -7.0\n"
    g = exercises.check("total_derivative", _fn(src))
    assert g.score == 0 and g.misconceptions == [], g.text()


def test_first_wrong_line_is_named_by_line_number_with_the_point(tmp_path):
    from derive.teach import feedback

    src = CORRECT["staged_fxy"].replace("dx += (1) * dnum", "dx = (1) * dnum")
    lines = feedback.assignments(src)
    assert lines["dx"] == [18, 20, 21]
    g = exercises.check("staged_fxy", _fn(src))
    assert "first wrong line: dx at point 1 (x=3, y=-4)" in g.message, g.message
    assert "fork-overwrite" in g.misconceptions
    assert feedback.where("dx", lines) == "line 21 (dx; dx is also assigned on lines 18, 20)"


@pytest.mark.parametrize("name", list(exercises.EXERCISES))
def test_hidden_tests_stay_hidden_until_released(name):
    ex = exercises.get(name)
    g = exercises.check(name, _fn(CORRECT[name])).as_dict()
    g["tests"][-1]["hidden"] = True
    from derive.teach.feedback import grade_text

    assert g["tests"][-1]["name"] in grade_text(g, released=True)
    shown = grade_text(g, released=False)
    assert "hidden tests are shown after release" in shown
    assert f"  {g['tests'][-1]['name']}:" not in shown or len(ex.outputs) > 1 and g["tests"][-1]["name"] in ex.outputs[:-1]
