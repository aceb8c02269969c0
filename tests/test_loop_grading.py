"""Loop exercises graded line by line: the learner's backward loop, recorded in the sandbox, against derive's.

Every submission here runs through the real grading sandbox (``grade_batch``), as in
test_grading.py, for the three loop exercises of notebook 10: right loops written in several
ways get full marks and never a "wrong line"; the three loop misconceptions (``=`` for ``+=``,
a forward loop, no gradient carried to the step before) are named with the first wrong line and
step; the recorded history is capped and checked by the grader like the rest of the report.
"""
import os
import re

import numpy as np
import pytest

from derive.teach import exercises, feedback
from derive.teach.grading import batch as grading
from derive.teach.grading import recorder
from derive.teach.grading.child_report import MAX_HISTORY, parse
from derive.teach.grading.sandbox import Limits
from derive.teach.grading.sandbox_child import plain

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIMITS = Limits(time=10.0, memory=256 * 2**20, output=2**20)

TANH = '''import numpy as np


def backward(x, w):
    hs = []
    h = x
    for t in range(4):
        hs.append(h)
        h = np.tanh(w * h)
    dh, dw = 1.0, 0.0
    for t in reversed(range(4)):
        out = np.tanh(w * hs[t])
        da = (1 - out**2) * dh
        dw += hs[t] * da
        dh = w * da
    dx = dh
    return dx, dw
'''
LOSS = '''import numpy as np


def backward(w, b, X, y):
    loss = 0.0
    for i in range(4):
        r = X[i] @ w + b - y[i]
        loss += r * r
    dw, db = np.zeros_like(w), 0.0
    for i in reversed(range(4)):
        r = X[i] @ w + b - y[i]
        dr = 2 * r
        dw += X[i] * dr
        db += dr
    return dw, db
'''
RNN = '''import numpy as np


def backward(x, h0, Wx, Wh, b, dh):
    N, T, D = x.shape
    hs = [h0]
    for t in range(T):
        hs.append(np.tanh(x[:, t, :] @ Wx + hs[-1] @ Wh + b))
    dx, dWx, dWh, db = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev = np.zeros_like(h0)
    for t in reversed(range(T)):
        da = (1 - hs[t + 1]**2) * (dh[:, t, :] + dprev)
        dx[:, t, :] = da @ Wx.T
        dWx += x[:, t, :].T @ da
        dWh += hs[t].T @ da
        db += da.sum(axis=0)
        dprev = da @ Wh.T
    dh0 = dprev
    return dx, dh0, dWx, dWh, db
'''


def edit(src, *pairs):
    for old, new in pairs:
        assert old in src, old
        src = src.replace(old, new)
    return src


FORWARD = ("for t in reversed(range(4)):", "for t in range(4):")
# (exercise, case, source, expected: "right", or (label or None, the first wrong line's statement))
CASES = [
    ("tanh_loop", "correct", TANH, "right"),
    ("tanh_loop", "range-down-renamed", edit(TANH, ("for t in reversed(range(4)):", "for s in range(3, -1, -1):"),
                                             ("hs[t]", "hs[s]"), ("dh, dw = 1.0, 0.0", "g, gw = 1.0, 0.0"),
                                             ("* dh\n", "* g\n"), ("dw +=", "gw +="), ("dh = w", "g = w"),
                                             ("dx = dh", "dx = g"), ("return dx, dw", "return dx, gw")), "right"),
    ("tanh_loop", "counter-from-zero", edit(TANH, ("for t in reversed(range(4)):\n",
                                                   "for k in range(4):\n        t = 3 - k\n")), "right"),
    ("tanh_loop", "long-loop-after", edit(TANH, ("    dx = dh\n", "    dx = dh\n    for i in range(2_000_000):\n"
                                                                  "        z = i\n    for i in range(2_000_000):\n"
                                                                  "        pass\n")), "right"),
    ("tanh_loop", "while-loop", edit(TANH, ("    for t in reversed(range(4)):\n", "    t = 3\n    while t >= 0:\n"),
                                     ("        dh = w * da\n", "        dh = w * da\n        t -= 1\n")), "right"),
    ("tanh_loop", "while-overwrite", edit(TANH, ("    for t in reversed(range(4)):\n", "    t = 3\n    while t >= 0:\n"),
                                          ("        dh = w * da\n", "        dh = w * da\n        t -= 1\n"),
                                          ("dw += hs[t]", "dw = hs[t]")), ("loop-overwrite", "dw =")),
    ("tanh_loop", "overwrite", edit(TANH, ("dw += hs[t]", "dw = hs[t]")), ("loop-overwrite", "dw =")),
    ("tanh_loop", "forward", edit(TANH, FORWARD), ("loop-order", "dw +=")),
    ("tanh_loop", "no-carry", edit(TANH, ("* dh\n", "* 1.0\n")), ("loop-carry", "da =")),
    ("loop_loss", "correct", LOSS, "right"),
    ("loop_loss", "forward-is-fine", edit(LOSS, ("reversed(range(4))", "range(4)")), "right"),
    ("loop_loss", "forward-renamed", edit(LOSS, ("reversed(range(4))", "range(4)"), ("dw, db =", "gw, gb ="),
                                          ("dw +=", "gw +="), ("db +=", "gb +="), ("return dw, db", "return gw, gb")),
     "right"),
    ("loop_loss", "vectorised", edit(LOSS, ("    for i in reversed(range(4)):\n        r = X[i] @ w + b - y[i]\n"
                                            "        dr = 2 * r\n        dw += X[i] * dr\n        db += dr\n",
                                            "    dr = 2 * (X @ w + b - y)\n    dw = X.T @ dr\n    db = dr.sum()\n")),
     "right"),
    ("loop_loss", "overwrite", edit(LOSS, ("dw += X[i]", "dw = X[i]")), ("loop-overwrite", "dw =")),
    ("loop_loss", "half", edit(LOSS, ("dr = 2 * r", "dr = r")), (None, "dr =")),
    ("rnn_bptt", "correct", RNN, "right"),
    ("rnn_bptt", "overwrite", edit(RNN, ("dWh += hs[t]", "dWh = hs[t]")), ("loop-overwrite", "dWh =")),
    ("rnn_bptt", "forward", edit(RNN, ("reversed(range(T))", "range(T)")), ("loop-order", "dx[:, t, :] =")),
    ("rnn_bptt", "no-carry", edit(RNN, ("(dh[:, t, :] + dprev)", "dh[:, t, :]")), ("loop-carry", "da =")),
    ("rnn_bptt", "tracer-removed", edit(RNN, ("dWh += hs[t]", "dWh = hs[t]"),
                                          ("    N, T, D = x.shape\n", "    import sys\n    sys.settrace(None)\n"
                                                                     "    N, T, D = x.shape\n")), "evades"),
    ("rnn_bptt", "stored-h-off-by-one", edit(RNN, ("dWh += hs[t].T", "dWh += hs[t + 1].T")), (None, "dWh +=")),
]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("loops")
    out = {}
    for name in ("tanh_loop", "loop_loss", "rnn_bptt"):
        cases = [(case, src) for ex, case, src, _ in CASES if ex == name]
        paths = []
        for case, src in cases:
            path = folder / f"{name}_{case}.py"
            path.write_text(src)
            paths.append(str(path))
        ex = exercises.get(os.path.join(ROOT, "notebooks", "exercises", name))
        grades = grading.grade_batch(ex, paths, seed=3, workers=2, limits=LIMITS, progress=False)
        out.update({(name, case): g for (case, _), g in zip(cases, grades)})
    return out


def _lines(g):
    (test,) = [t for t in g["tests"] if t["name"] == "lines"]
    return test


@pytest.mark.parametrize("name,case,expected", [(n, c, e) for n, c, _, e in CASES if e == "right"],
                         ids=[f"{n}-{c}" for n, c, _, e in CASES if e == "right"])
def test_a_right_loop_gets_full_marks_and_no_wrong_line(graded, name, case, expected):
    g = graded[(name, case)]
    assert g["score"] == g["max_score"], g
    assert g["misconceptions"] == []
    assert "wrong" not in _lines(g)["output"], _lines(g)["output"]


WRONG = [(n, c, e) for n, c, _, e in CASES if isinstance(e, tuple)]


@pytest.mark.parametrize("name,case,expected", WRONG, ids=[f"{n}-{c}" for n, c, _ in WRONG])
def test_a_wrong_loop_names_its_first_wrong_line_and_step(graded, name, case, expected):
    label, statement = expected
    g = graded[(name, case)]
    lines = _lines(g)
    assert g["score"] < g["max_score"] and lines["score"] < lines["max_score"]
    m = re.search(r"first wrong line: line (\d+) \((.*?)\) at (step \w+ = \d+ \()?iteration (\d+) of (\d+)",
                  lines["output"])
    assert m, lines["output"]
    src = next(s for n, c, s, _ in CASES if (n, c) == (name, case))
    assert m[2] == statement and src.splitlines()[int(m[1]) - 1].strip().startswith(statement.split(" ")[0])
    assert " but should be " in lines["output"] and lines["output"] in g["message"]
    if label is None:
        assert not any(x.startswith("loop-") for x in g["misconceptions"]), g["misconceptions"]
    else:
        assert g["misconceptions"] == [label], g["misconceptions"]


def test_the_first_wrong_step_is_where_the_mistake_first_shows(graded):
    # `=` for `+=` is right at the loop's first step and wrong from its second on
    out = _lines(graded[("rnn_bptt", "overwrite")])["output"]
    assert "at step t = 1 (iteration 2 of 3)" in out and "(the sum over the steps so far)" in out
    # a forward loop is wrong from its first step, at t = 0
    assert "at step t = 0 (iteration 1 of 4)" in _lines(graded[("tanh_loop", "forward")])["output"]
    # a value under another name is compared by value and named as derive's
    assert "da (derive's dwh)" in _lines(graded[("tanh_loop", "no-carry")])["output"]


def test_a_long_loop_fills_the_recording_to_its_cap_and_runs_on(graded):
    out = _lines(graded[("tanh_loop", "long-loop-after")])["output"]
    assert "12 of 12 per-step values right" in out and "the recording reached its cap" in out, out


def test_a_submission_that_stops_the_recording_gains_nothing(graded):
    # the learner's code can reach the tracer (it is Python state): without a history, the lines
    # test falls back to the returned gradients (4 of 5 right here) and the mistake is still named
    g = graded[("rnn_bptt", "tracer-removed")]
    lines = _lines(g)
    assert lines["score"] == pytest.approx(0.8) and "first wrong line" not in lines["output"]
    assert "the returned gradients are graded (4 of 5 right)" in lines["output"]
    assert g["misconceptions"] == ["loop-overwrite"]


def test_renamed_variables_are_matched_by_value(graded):
    out = _lines(graded[("tanh_loop", "range-down-renamed")])["output"]
    assert "gw (= dw)" in out and "g (= dh)" in out and "12 of 12 per-step values right" in out
    # a forward loop over a loss's examples: each step's term of gw is compared with derive's
    out = _lines(graded[("loop_loss", "forward-renamed")])["output"]
    assert "gw (= dw)" in out and "gb (= db)" in out and "12 of 12 per-step values right" in out, out


def test_no_backward_loop_is_graded_on_the_returned_gradients_with_a_note(graded):
    out = _lines(graded[("loop_loss", "vectorised")])["output"]
    assert "not compared step by step" in out


def test_the_notebook_check_gives_the_same_line_message(tmp_path):
    ns = {"np": np}
    path = tmp_path / "cell.py"
    path.write_text(edit(RNN, ("dWh += hs[t]", "dWh = hs[t]"), ("def backward(", "def my_rnn_backward(")))
    exec(compile(path.read_text(), str(path), "exec"), ns)  # a test's own fixed code, in this process
    g = exercises.check(os.path.join(ROOT, "notebooks", "exercises", "rnn_bptt"), ns["my_rnn_backward"])
    assert "loop-overwrite" in g.misconceptions
    assert "first wrong line: line 15 (dWh =) at step t = 1 (iteration 2 of 3)" in g.message, g.message


# ---- the recorder and the report's schema ------------------------------------------------------
def _counting(n):
    total = 0.0
    for k in range(n):
        total += k
    return total


def test_recorder_caps_a_long_loop_and_still_returns_the_value():
    with open(__file__, encoding="utf-8") as fh:
        steps = recorder.plan(fh.read(), "_counting")
    value, local, history = recorder.call_recorded(_counting, [50_000], steps, plain, entries=300)
    assert value == sum(range(50_000)) and local["total"] == value
    assert history["truncated"] and len(history["entries"]) <= 302
    names = {name for _, name, _ in history["entries"]}
    assert names == {"total", "k"}
    value, _, history = recorder.call_recorded(_counting, [3], steps, plain)
    assert not history["truncated"]
    assert [v for _, n, v in history["entries"] if n == "total"] == [0.0, 0.0, 1.0, 3.0]


def _report(history):
    return ('{"calls": [{"returned": 1.0, "locals": {}, "history": %s}], "error": null}' % history).encode()


@pytest.mark.parametrize("history", [
    '{"entries": [[3, "dw", 1.0]], "truncated": false}',
    '{"entries": [[3, "", 0.0], [4, "dW", {"array": [[1.0, 2.0]], "shape": [1, 2]}]], "truncated": true}',
])
def test_a_well_formed_history_passes_the_grader_check(history):
    assert parse(_report(history)) is not None


@pytest.mark.parametrize("history", [
    '{"entries": [[0, "dw", 1.0]], "truncated": false}',             # no line 0
    '{"entries": [[3, "d w", 1.0]], "truncated": false}',            # not a name
    '{"entries": [[3, "dw", "1.0"]], "truncated": false}',           # not a number
    '{"entries": [[3, "dw"]], "truncated": false}',                  # not a triple
    '{"entries": [[3.5, "dw", 1.0]], "truncated": false}',           # not a line number
    '{"entries": [], "truncated": 0}',                               # not a bool
    '{"entries": [], "truncated": false, "extra": 1}',               # unknown key
    '[]',
    '{"entries": [%s], "truncated": false}' % ", ".join(['[1, "a", 1.0]'] * (MAX_HISTORY + 1)),
])
def test_a_forged_or_oversized_history_is_a_tampered_channel(history):
    assert parse(_report(history)) is None


def test_a_loop_counting_up_to_steps_taken_backwards_is_compared_by_order(graded):
    out = _lines(graded[("tanh_loop", "counter-from-zero")])["output"]
    assert "12 of 12 per-step values right" in out, out


def _odd_histories():
    """Well-formed histories (they pass the grader's schema check) with odd contents."""
    steps = recorder.plan(TANH, "backward")
    header = [lp for lp in steps["loops"] if lp[0] > 8][0][0]
    body = header + 2
    yield []                                                               # nothing recorded
    yield [[header, "t", 3.0]] * 5                                         # headers, no body
    yield [[header, "t", 3.0], [body, "da", {"type": "str"}]]             # not a number
    yield [[header, "t", {"array": [1.0, 2.0], "shape": [2]}], [body, "dw", 1.0]]  # an array counter
    yield [[header, "", 0.0], [body, "dw", [1.0, [2.0]]], [body + 1, "dh", 1e308]]  # ragged, huge
    yield [[body, "dw", 1.0], [header, "t", 1.0], [header, "t", 1.0], [body, "dh", float("nan")]]
    yield [[99, "dw", 1.0], [header, "t", 2.0], [body, "dw", {"array": [[1.0]], "shape": [1, 1]}]]


@pytest.mark.parametrize("entries", list(_odd_histories()))
def test_odd_histories_are_graded_without_an_error(entries):
    ex = exercises.get(os.path.join(ROOT, "notebooks", "exercises", "tanh_loop"))
    points = ex.example_points()
    calls = [{"returned": [1.0, 1.0], "locals": {}, "history": {"entries": entries, "truncated": False}}
             for _ in points]
    g = feedback.assess(ex, points, {"calls": calls, "error": None, "output": ""}, source=TANH)
    (lines,) = [t for t in g.tests if t["name"] == "lines"]
    assert 0 <= lines["score"] <= lines["max_score"] and lines["output"].startswith("backward loop")


SCALAR_TOML = '''name = "scalar_loop"
[function]
file = "forward.py"
name = "f"
[params.x]
range = [-1, 1]
[params.w]
range = [-2, 2]
[example]
x = 0.5
w = 1.5
'''
SCALAR_FORWARD = '''import math


def f(x, w):
    h = x
    for t in range(3):
        h = math.tanh(w * h)
    return h
'''
SCALAR = edit(TANH, ("import numpy as np", "import math"), ("np.tanh", "math.tanh"), ("range(4)", "range(3)"))


def test_a_scalar_exercise_with_a_loop_is_graded_step_by_step(tmp_path):
    """A scalar (math) exercise, as ``derive exercise new`` makes one from a function with a loop."""
    (tmp_path / "ex").mkdir()
    (tmp_path / "ex" / "exercise.toml").write_text(SCALAR_TOML)
    (tmp_path / "ex" / "forward.py").write_text(SCALAR_FORWARD)
    ex = exercises.get(str(tmp_path / "ex"))
    assert not ex.vector and ex.has_loops and ex.variants(ex.example_points()[0]) == []
    paths = []
    for case, src in (("right", SCALAR), ("overwrite", edit(SCALAR, ("dw += hs[t]", "dw = hs[t]")))):
        (tmp_path / f"{case}.py").write_text(src)
        paths.append(str(tmp_path / f"{case}.py"))
    right, wrong = grading.grade_batch(ex, paths, workers=2, limits=LIMITS, progress=False)
    assert right["score"] == right["max_score"] == 3, right
    assert "9 of 9 per-step values right" in _lines(right)["output"], _lines(right)["output"]
    assert wrong["misconceptions"] == ["loop-overwrite"]
    assert "first wrong line: line 14 (dw =) at step t = 1 (iteration 2 of 3)" in wrong["message"], wrong["message"]


class _Odd:
    """An object posing as a NumPy array whose values cannot be read."""

    __module__ = "numpy.fake"
    shape = (2,)
    size = 2

    def tolist(self):
        raise RuntimeError("no")

    def astype(self, _):
        raise RuntimeError("no")


def _with_odd(n):
    total = 0.0
    odd = _Odd()
    total += n
    return total, odd


def test_an_unreadable_value_stops_the_recording_not_the_run():
    with open(__file__, encoding="utf-8") as fh:
        steps = recorder.plan(fh.read(), "_with_odd")
    (value, odd), _, history = recorder.call_recorded(_with_odd, [2.0], steps, plain)
    assert value == 2.0 and isinstance(odd, _Odd)
    assert history["truncated"] and [n for _, n, _ in history["entries"]] == ["total"]
