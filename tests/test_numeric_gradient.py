"""derive.check.numeric_gradient: central differences at a chosen step, shaped like run().grad."""
import math

import pytest
import sympy as sp

from derive import DeriveError, stage
from derive.oracle.check import numeric_gradient
from derive.symbolic.examples import CS231N_FXY, NEURON_CODE


def test_matches_staged_gradient_on_the_seed():
    staged = stage(CS231N_FXY).run(x=3, y=-4).grad
    numeric = numeric_gradient(CS231N_FXY, {"x": 3, "y": -4})
    for k in staged:
        assert math.isclose(numeric[k], staged[k], rel_tol=1e-7)


def test_list_inputs_are_nested_like_run():
    point = {"w": [2, -3, -3], "x": [-1, -2]}
    numeric = numeric_gradient(NEURON_CODE, point)
    staged = stage(NEURON_CODE).run(**point).grad
    assert set(numeric) == {"w", "x"} and len(numeric["w"]) == 3 and len(numeric["x"]) == 2
    for k in staged:
        for a, b in zip(numeric[k], staged[k]):
            assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def test_step_controls_truncation_error():
    # exp(x) at 0: the central difference is (e^h - e^-h) / 2h = sinh(h)/h, independent of derive
    for h in (1e-1, 1e-2, 1e-3):
        assert math.isclose(numeric_gradient("exp(x)", {"x": 0}, h=h)["x"], math.sinh(h) / h,
                            rel_tol=1e-12)
    x = sp.Symbol("x")
    exact = float(sp.diff(sp.sin(x) * x, x).subs(x, 0.7))
    err_big = abs(numeric_gradient("sin(x) * x", {"x": 0.7}, h=1e-2)["x"] - exact)
    err_small = abs(numeric_gradient("sin(x) * x", {"x": 0.7}, h=1e-4)["x"] - exact)
    assert err_small < err_big / 100  # O(h^2)


def test_kink_gives_the_average_slope():
    assert numeric_gradient("relu(x)", {"x": 0}, h=1e-3)["x"] == pytest.approx(0.5)


@pytest.mark.parametrize("h", [0, -1e-3, float("nan"), "0.1"])
def test_bad_step(h):
    with pytest.raises(DeriveError, match="step h"):
        numeric_gradient("x * y", {"x": 1, "y": 2}, h=h)


def test_bad_point():
    with pytest.raises(DeriveError, match="missing value for y"):
        numeric_gradient("x * y", {"x": 1})
