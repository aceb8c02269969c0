"""Rolled loops (the default for ``range`` loops): the body staged once, the forward printed as
the loop, the backward as the reversed loop with the per-step values stored; backpropagation
through time for an RNN equals the published ``rnn_backward``.

Gradients are checked against the unrolled program (itself checked with ``sympy.diff`` and
central differences in test_loops.py), central differences of the Python functions, and the
published backward functions.
"""
import json

import numpy as np
import pytest

import derive
from derive import DeriveError
from derive.oracle.central import central_gradient
from derive.staging.arrays import stage_arrays
from derive.staging.loops import Control
from tests.data.loops import rnn_layers
from tests.test_loops import COUNTED, RECURRENCE, _cli, python_function, scalar_checks


# ---- rolled loops (the default) -------------------------------------------------------------
def test_rolled_loop_prints_as_the_loop_and_its_reversed_loop():
    prog = derive.stage(RECURRENCE)
    text = str(prog)
    assert "  for i in range(3):  # line 3" in text
    assert "  for i in reversed(range(3)):" in text
    assert "hs[i] = h_1  # stored" in text and "h_1 = hs[i]  # restored" in text
    assert "dw += h_1 * dh_1w" in text and "dh_2 = dh_1  # carried to the step before" in text
    assert len(prog.forward) == 5  # one step's lines, whatever the trip count
    assert [lp.to_dict() for lp in prog.loops] == [prog.to_dict()["loops"][0]]


@pytest.mark.parametrize("src, point", [(RECURRENCE, dict(x=0.7, w=-1.3)), (COUNTED.replace(
    "k = 0\n    while k < 3:", "for k in range(3):").replace("        k += 1\n", ""), dict(x=0.9))])
def test_rolled_gradient_equals_unrolled_sympy_and_central(src, point):
    rolled, unrolled = derive.stage(src), derive.stage(src, unroll=True)
    got = rolled.run(**point)
    assert got.value == pytest.approx(unrolled.run(**point).value, rel=1e-14)
    scalar_checks(unrolled, src, point)  # sympy.diff and central differences of the unrolled program
    fn = python_function(src)
    numeric = central_gradient(lambda p: fn(**p), point)
    for k in point:
        assert got.grad[k] == pytest.approx(unrolled.run(**point).grad[k], rel=1e-13)
        assert got.grad[k] == pytest.approx(numeric[k], rel=1e-6)
    ns = {}
    exec(rolled.to_python("g"), ns)  # derive's printed code, loops rolled
    value, grads = ns["g"](**point)
    assert value == pytest.approx(got.value) and grads == pytest.approx(got.grad)


def _rnn_point(N=2, T=5, D=3, H=4, seed=0):
    rng = np.random.default_rng(seed)
    return dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((N, H)),
                Wx=rng.standard_normal((D, H)) * 0.5, Wh=rng.standard_normal((H, H)) * 0.5,
                b=rng.standard_normal(H), dh=rng.standard_normal((N, T, H)))


def stage_rnn(point, unroll=False):
    """``rnn_loss`` as derive reads it: from the source text with its step function."""
    return stage_arrays(rnn_layers.source(), shapes={k: v.shape for k, v in point.items()}, name="rnn_loss",
                        control=Control(unroll))


def test_rolled_rnn_gradient_is_the_published_rnn_backward():
    point = _rnn_point()
    prog = stage_rnn(point)
    result = prog.run(**point)
    h, cache = rnn_layers.rnn_forward(*[point[k] for k in ("x", "h0", "Wx", "Wh", "b")])
    assert result.value == pytest.approx(np.sum(h * point["dh"]), rel=1e-12)
    for name, published in zip(("x", "h0", "Wx", "Wh", "b"), rnn_layers.rnn_backward(point["dh"], cache)):
        np.testing.assert_allclose(result.grad[name], published, rtol=1e-10, atol=1e-10)
    numeric = central_gradient(lambda p: rnn_layers.rnn_loss(**p), point, names=["Wh", "h0"])
    np.testing.assert_allclose(result.grad["Wh"], numeric["Wh"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(result.grad["h0"], numeric["h0"], rtol=1e-6, atol=1e-8)
    text = str(prog)
    assert "for t in reversed(range(5)):" in text and "dWh += prev_h.T @ dprev_hWh" in text
    assert "dnext_h = dprev_h  # carried to the step before" in text
    assert len(result.values["prev_hs"]) == 5  # the stored per-step values (the tape)
    unrolled = stage_rnn(point, unroll=True)
    np.testing.assert_allclose(unrolled.run(**point).grad["Wh"], result.grad["Wh"], rtol=1e-12)


def test_rolled_staging_is_the_size_of_the_body():
    small, large = (stage_rnn(_rnn_point(T=T)) for T in (3, 300))
    assert len(small.forward) == len(large.forward) and len(small.backward) == len(large.backward)
    assert large.loops[0].trips == 300


def test_rolled_programs_refuse_the_straight_line_readers_in_one_line():
    prog = derive.stage(RECURRENCE)  # LaTeX, Markdown, circuits, expr: tests/test_loops_readers.py
    with pytest.raises(DeriveError, match=r"rolled loop \(line 3\): stage it with unroll=True"):
        prog.gradient_function()
    with pytest.raises(DeriveError, match="'h' is assigned inside the rolled loop at line 2 and read after it"):
        derive.stage("def f(x):\n    for i in range(3):\n        h = x * x\n    return h\n")


def test_rnn_forward_with_a_list_of_states_unrolled_equals_rnn_backward():
    """rnn_forward as written with h.append and np.stack: unrolled (a rolled loop refuses the
    list in one line), its vector-Jacobian product with dh is the published rnn_backward."""
    point = _rnn_point()
    args = {k: v for k, v in point.items() if k != "dh"}
    shapes = {k: v.shape for k, v in args.items()}
    with pytest.raises(DeriveError, match=r"that appends to the list h \(a rolled loop reads its body once\): "
                                          r"stage it unrolled"):
        stage_arrays(rnn_layers.source(), shapes=shapes, name="rnn_forward_stacked")
    prog = stage_arrays(rnn_layers.source(), shapes=shapes, name="rnn_forward_stacked", control=Control(True))
    result = prog.run(upstream=point["dh"], **args)
    h, cache = rnn_layers.rnn_forward(*args.values())
    np.testing.assert_allclose(result.value, h, rtol=1e-12)
    for name, published in zip(args, rnn_layers.rnn_backward(point["dh"], cache)):
        np.testing.assert_allclose(result.grad[name], published, rtol=1e-10, atol=1e-10)


def test_cli_rolled_json_and_refusal(tmp_path):
    path = tmp_path / "rec.py"
    path.write_text(RECURRENCE)
    out = _cli("stage", f"{path}:f", "--at", "x=0.7,w=-1.3", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["loops"][0]["range"] == [0, 3] and "for i in reversed(range(3)):" in data["code"]
    expected = derive.stage(RECURRENCE, unroll=True).run(x=0.7, w=-1.3)
    assert data["grad"] == pytest.approx(expected.grad) and data["intermediates"]["hs"] == pytest.approx(
        [0.7, 0.7 * -1.3 + 0.7, (0.7 * -1.3 + 0.7) * -1.3 + 0.7])
    latex = _cli("stage", f"{path}:f", "--format", "latex")  # printed rolled (tests/test_loops_readers.py)
    assert latex.returncode == 0 and r"\textbf{for } i = 2, \dots, 0" in latex.stdout


def test_unrolled_programs_work_with_every_reader():
    prog = derive.stage(RECURRENCE, unroll=True)
    result = prog.run(x=1.0, w=0.5)
    assert "<- iteration i=2" in prog.to_text(result) and "# (7) in iteration i=2" in "\n".join(prog.lines())
    assert r"\mathit{h\_i2}" in prog.to_latex() and "| 7 | `h_i2 = h_i1w + x` | 1.875 |" in prog.to_markdown(result)
    assert type(prog.circuit(x=1.0, w=0.5)).__name__ == "Circuit"
    ns = {}
    exec(prog.to_python("g"), ns)  # derive's printed code
    assert ns["g"](1.0, 0.5)[1] == pytest.approx(result.grad)


def test_a_program_read_with_sizes_refuses_other_shapes():
    prog = stage_rnn(_rnn_point(T=5))
    with pytest.raises(DeriveError, match=r"staged for x of shape \(2, 5, 3\) .*stage it again for shape \(2, 7, 3\)"):
        prog.run(**_rnn_point(T=7))


def test_rolled_loop_variable_in_the_body_has_no_gradient():
    src = "def f(x):\n    s = 0.0\n    for i in range(1, 4):\n        s = s + x ** i / i\n    return s\n"
    prog = derive.stage(src)
    assert "di" not in {bl.target.name for bl in prog.backward} and "di = 0.0" not in str(prog)
    assert "nums[i - 1] = num" in str(prog)
    assert prog.run(x=0.5).grad["x"] == pytest.approx(1 + 0.5 + 0.25)
