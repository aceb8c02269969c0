"""The rule table, row by row: each local gradient equals sympy.diff of the gate (and numerics)."""
import math
import random

import pytest
import sympy as sp

from derive.oracle.check import lambdify
from derive.core.rules import RULES, apply, local_gradient

a, b = sp.symbols("a b", real=True)
ROWS = [r for r in RULES.values()]


def _point(rule, rng):
    return [rng.uniform(*rule.sample) for _ in range(rule.arity)]


@pytest.mark.parametrize("rule", ROWS, ids=lambda r: r.name)
def test_local_gradient_matches_sympy_diff_and_central_differences(rule):
    args = (a, b)[: rule.arity]
    out = apply(rule.name, *args)
    rng = random.Random(7)
    f = lambdify(args, out)
    for i, x in enumerate(args):
        mine = lambdify(args, local_gradient(rule, i, args, out))
        ref = lambdify(args, sp.diff(out, x))
        for _ in range(5):
            pt = _point(rule, rng)
            assert mine(*pt) == pytest.approx(ref(*pt), rel=1e-12, abs=1e-12)
            h = 1e-6
            up, dn = list(pt), list(pt)
            up[i] += h
            dn[i] -= h
            fd = (f(*up) - f(*dn)) / (2 * h)
            assert mine(*pt) == pytest.approx(fd, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("rule", ROWS, ids=lambda r: r.name)
def test_every_row_is_complete(rule):
    assert len(rule.grads) == rule.arity
    assert rule.label and rule.latex
    assert rule.infix or rule.short


def test_kink_conventions():
    """relu'(0) = 0, abs'(0) = 0, ties of max/min split the gradient equally."""
    from derive import stage

    assert stage("relu(x)").run(x=0).grad == {"x": 0.0}
    assert stage("abs(x)").run(x=0).grad == {"x": 0.0}
    assert stage("max(x, y)").run(x=1, y=1).grad == {"x": 0.5, "y": 0.5}
    assert stage("min(x, y)").run(x=1, y=1).grad == {"x": 0.5, "y": 0.5}
    assert math.isclose(stage("max(x, y)").run(x=2, y=1).grad["x"], 1.0)


def test_sigmoid_is_stable():
    import warnings

    from derive import sigmoid, stage

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sigmoid(-1000.0) == 0.0
        assert sigmoid(1000.0) == 1.0
        r = stage("sigmoid(x)").run(x=-1000)
        assert r.value == 0.0 and r.grad["x"] == 0.0
        import numpy as np

        assert sigmoid(np.array([-1000.0, 0.0, 1000.0])).tolist() == [0.0, 0.5, 1.0]


def test_kinks_are_reported_with_the_convention():
    from derive import stage

    r = stage("relu(x) * max(x, y) + abs(y)").run(x=0, y=0)
    assert len(r.notes) == 3
    assert "relu'(0) = 0" in r.notes[0] and "half the gradient" in r.notes[1]
    assert stage("relu(x)").run(x=0.5).notes == []
