"""Every catalogue example: staged gradient == sympy.diff and central differences; seeds exact."""
import pytest

from derive.oracle.check import check
from derive.symbolic.examples import CATALOGUE, stage_example
from derive.frontend.parse import GATES


@pytest.mark.parametrize("gates", GATES)
@pytest.mark.parametrize("ex", CATALOGUE, ids=lambda e: e.name)
def test_gradient_matches_both_references(ex, gates):
    prog = stage_example(ex, gates)
    report = check(prog, points=4, seed=1)
    assert report.ok, str(report)
    at_seed_point = check(prog, at=ex.point)
    assert at_seed_point.ok, str(at_seed_point)


@pytest.mark.parametrize("ex", [e for e in CATALOGUE if e.value is not None], ids=lambda e: e.name)
def test_published_numbers_exactly(ex):
    result = stage_example(ex).run(exact=True, **ex.point)
    assert result.value == ex.value
    assert result.grad == ex.grad


@pytest.mark.parametrize("ex", [e for e in CATALOGUE if e.value is not None], ids=lambda e: e.name)
def test_float_run_within_a_few_ulp_of_published(ex):
    result = stage_example(ex, "primitive").run(**ex.point)
    assert result.value == pytest.approx(ex.value, rel=1e-15, abs=1e-15)
    for k, v in ex.grad.items():
        assert result.grad[k] == pytest.approx(v, rel=1e-14, abs=1e-15)


def test_check_detects_a_wrong_gradient():
    """The check is not vacuous: a program whose backward line is broken fails it."""
    import dataclasses

    import sympy as sp

    prog = stage_example(CATALOGUE[4])
    bad = prog.backward[4]
    prog.backward[4] = dataclasses.replace(bad, local=bad.local * sp.Rational(3, 2))
    prog._compiled.clear()
    assert not check(prog, at={"x": 3, "y": -4}).ok
