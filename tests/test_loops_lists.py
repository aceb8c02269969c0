"""Rolled loops that build lists (``h.append(next_h)``) and arrays made with their sizes written
out (``np.zeros((N, T, H))``): CS231n's ``rnn_forward`` as published and as the issue quotes it,
tangent's ``rnn``, and lists read after the loop (``np.stack``, ``h[-1]``, ``np.array``, ``sum``).

Every gradient is compared with the published ``rnn_backward`` or with central differences of
the Python function, and the rolled program with the unrolled one, itself checked against
``sympy.diff`` on a small case. Printed code (``to_python``) is run.
"""
import json

import numpy as np
import pytest

import derive
from derive import DeriveError
from derive.oracle.central import central_gradient
from derive.staging.arrays import stage_arrays
from derive.staging.loops import Control
from derive.symbolic.jacobians import central_differences, sympy_gradient
from tests.data.loops import rnn_layers, tangent_functions
from tests.test_loops import _cli

ARGS = ("x", "h0", "Wx", "Wh", "b")


def _point(N=2, T=5, D=3, H=4, seed=0):
    rng = np.random.default_rng(seed)
    return dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((N, H)),
                Wx=rng.standard_normal((D, H)) * 0.5, Wh=rng.standard_normal((H, H)) * 0.5,
                b=rng.standard_normal(H))


def _stage(name, point, unroll=False):
    return stage_arrays(rnn_layers.source(), shapes={k: v.shape for k, v in point.items()}, name=name,
                        control=Control(unroll))


def _published(point, dh):
    h, cache = rnn_layers.rnn_forward(*[point[k] for k in ARGS])
    return h, dict(zip(ARGS, rnn_layers.rnn_backward(dh, cache)))


def _run_printed(prog, point, upstream=None):
    """derive's printed module (loops rolled), run: (value, gradient)."""
    ns = {}
    exec(prog.to_python("g"), ns)  # derive's own generated code
    return ns["g"](*[point[k] for k in prog.param_names], *([] if upstream is None else [upstream]))


# ---- rnn_forward, three ways, rolled ----------------------------------------------------------
@pytest.mark.parametrize("name", ["rnn_forward", "rnn_forward_stacked", "rnn_forward_list"])
def test_rolled_rnn_forward_is_the_published_rnn_backward(name):
    """The published rnn_forward (np.zeros((N, T, H)), h[:, t, :] = next_h, cache.append), the
    list of states stacked (h = [] ... np.stack(h, axis=1)) and the list that starts with h0 and
    is read as h[t]: staged rolled, their vector-Jacobian product with dh is rnn_backward's."""
    point = _point()
    dh = np.random.default_rng(1).standard_normal((2, 5, 4))
    prog = _stage(name, point)
    assert prog.loops and prog.loops[0].trips == 5
    result = prog.run(upstream=dh, **point)
    h, published = _published(point, dh)
    np.testing.assert_allclose(result.value, h, rtol=1e-12, atol=1e-14)
    for k in ARGS:
        np.testing.assert_allclose(result.grad[k], published[k], rtol=1e-10, atol=1e-12, err_msg=k)
    value, grads = _run_printed(prog, point, dh)
    np.testing.assert_allclose(value, h, rtol=1e-12, atol=1e-14)
    for k in ARGS:
        np.testing.assert_allclose(grads[k], published[k], rtol=1e-10, atol=1e-12, err_msg=k)


def test_the_list_is_the_tape_and_its_gradient_is_split_per_step():
    text = str(_stage("rnn_forward_stacked", _point()))
    assert "next_hs = []  # the list h: next_h at every step (the tape)" in text
    assert "    next_hs.append(next_h)  # appended" in text
    assert "h = np.stack(next_hs, axis=1)  # (11)" in text
    # the stack's adjoint dh, one slice per step, meets the next step's state gradient
    assert "dnext_h = np.zeros_like(next_h)  # gradients of every step add here" in text
    assert "for t in reversed(range(5)):\n      next_h = next_hs[t]  # restored" in text
    assert "      dnext_h += dh[:, t]  # (11)" in text
    assert "      dnext_h = dprev_h  # carried to the step before" in text
    listed = str(_stage("rnn_forward_list", _point()))
    assert "h_t = h0  # (4)" in listed and "h_tWh = h_t @ Wh" in listed  # h[t]: the state entering the step
    assert "f = np.stack(h, axis=1)" in listed or "np.stack(h, axis=1)" in listed
    assert "dnext_h += df[:, t]" in listed and "dnext_h = dh_t  # carried to the step before" in listed


def test_published_rnn_forward_reads_np_zeros_and_writes_each_step_in_place():
    """h = np.zeros((N, T, H)) prints as written; h[:, t, :] = next_h is written in place in the
    rolled loop (no copy of the whole array per step), and the caller's arrays are not changed."""
    point = _point()
    prog = _stage("rnn_forward", point)
    text = str(prog)
    index = "[(slice(None, None), t, slice(None, None),)]"
    assert "h = np.zeros((N, T, H))  # (5)" in text and "h_1 = h.copy()  # (6)" in text
    assert f"      h_1{index} = next_h  # (14) in place\n      h_2 = h_1\n" in text
    assert "  dh_2 = dh_2.copy()  # the loop zeroes its slices in place" in text
    assert f"      dnext_h += dh_2{index}  # (14)\n      dh_2{index} = 0\n      dh_1 = dh_2\n" in text
    assert "\n  hs = [None]" not in text  # the whole array is not stored per step: no line reads it
    dh = np.random.default_rng(1).standard_normal((2, 5, 4))
    given = {k: v.copy() for k, v in point.items()}
    prog.run(upstream=dh, **given)
    _run_printed(prog, given, dh)
    assert all(np.array_equal(given[k], point[k]) for k in point)
    assert np.array_equal(dh, np.random.default_rng(1).standard_normal((2, 5, 4)))


def test_rolled_staging_of_lists_is_the_size_of_the_body():
    small, large = (_stage(name, _point(T=T)) for name in ("rnn_forward_list",) for T in (3, 300))
    assert len(small.forward) == len(large.forward) and len(small.backward) == len(large.backward)
    assert large.loops[0].trips == 300


def test_rolled_equals_unrolled_and_the_unrolled_equals_sympy_diff():
    point = _point(N=1, T=2, D=2, H=2, seed=3)
    dh = np.random.default_rng(4).standard_normal((1, 2, 2))
    rolled, unrolled = _stage("rnn_forward_list", point), _stage("rnn_forward_list", point, unroll=True)
    assert not unrolled.loops
    got, flat = rolled.run(upstream=dh, **point), unrolled.run(upstream=dh, **point)
    exact = sympy_gradient(unrolled, point, upstream=dh)
    for k in ARGS:
        np.testing.assert_allclose(got.grad[k], flat.grad[k], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(got.grad[k], exact[k], rtol=1e-10, atol=1e-12)


# ---- lists read after the loop -------------------------------------------------------------
def test_several_lists_read_as_stack_last_item_array_and_sum():
    """rnn_states_loss: h and losses appended in one loop; np.stack(h, axis=1) with h0 in front,
    h[-1], np.mean(np.array(losses)), sum(losses): central differences and the printed code."""
    point = _point(T=4)
    prog = _stage("rnn_states_loss", point)
    result = prog.run(**point)
    assert result.value == pytest.approx(rnn_layers.rnn_states_loss(**point), rel=1e-13)
    numeric = central_gradient(lambda p: rnn_layers.rnn_states_loss(**p), point)
    for k in ARGS:
        np.testing.assert_allclose(result.grad[k], numeric[k], rtol=1e-6, atol=1e-7, err_msg=k)
    value, grads = _run_printed(prog, point)
    assert value == pytest.approx(result.value, rel=1e-14)
    for k in ARGS:
        np.testing.assert_allclose(grads[k], result.grad[k], rtol=1e-12, atol=1e-14)
    text = str(prog)
    assert "states = np.stack([h0, *h], axis=1)" in text and "losses.append(sumt2)" in text
    assert "dsumt2 = dstack[t]  # (19)" in text and "dh0 = dstates[:, 0].copy()" in text
    assert len(result.values["losses"]) == 4  # the list, as the tape, comes back per step
    unrolled = _stage("rnn_states_loss", point, unroll=True).run(**point)
    for k in ARGS:
        np.testing.assert_allclose(result.grad[k], unrolled.grad[k], rtol=1e-12, atol=1e-14)


def test_a_scalar_loss_list_summed():
    src = """
def f(x, w):
    losses = []
    h = x
    for i in range(4):
        h = np.tanh(h * w + x)
        losses.append(np.sum(h))
    return sum(losses) / len(x)
"""
    point = dict(x=np.array([0.3, -0.8, 1.1]), w=np.array([0.9, -0.4, 0.5]))
    prog = derive.stage(src, shapes={"x": (3,), "w": (3,)})
    assert prog.loops

    def fn(x, w):
        h, total = x, 0.0
        for _ in range(4):
            h = np.tanh(h * w + x)
            total += np.sum(h)
        return total / 3
    got = prog.run(**point)
    assert got.value == pytest.approx(fn(**point), rel=1e-14)
    numeric = central_gradient(lambda p: fn(**p), point)
    for k in point:
        np.testing.assert_allclose(got.grad[k], numeric[k], rtol=1e-6, atol=1e-8)


# ---- np.zeros / np.ones with sizes, tangent's rnn ---------------------------------------------
def test_tangent_rnn_stages_rolled_from_np_zeros():
    point = dict(inputs=np.random.default_rng(1).standard_normal((3, 2)),
                 W=np.random.default_rng(2).standard_normal((2, 3)))
    shapes = {k: v.shape for k, v in point.items()}
    prog = derive.stage(tangent_functions.rnn, shapes=shapes)
    assert prog.loops and "h = np.zeros((4, 3))  # (1)" in str(prog)
    got = prog.run(**point)
    assert got.value == pytest.approx(tangent_functions.rnn(**point), rel=1e-14)
    numeric = central_gradient(lambda p: tangent_functions.rnn(**p), point)
    unrolled = derive.stage(tangent_functions.rnn, shapes=shapes, unroll=True).run(**point)
    for k in point:
        np.testing.assert_allclose(got.grad[k], numeric[k], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(got.grad[k], unrolled.grad[k], rtol=1e-13, atol=1e-15)
    _, grads = _run_printed(prog, point)
    for k in point:
        np.testing.assert_allclose(grads[k], got.grad[k], rtol=1e-13)


@pytest.mark.parametrize("body, shapes", [
    ("h = np.ones((N, H))\n    return np.sum(h * x)", dict(x=(2, 3))),
    ("h = np.zeros(H) + 1.0\n    return np.sum(np.tanh(x + h))", dict(x=(2, 3))),
    ("h = np.zeros([2, 3])\n    return np.sum(np.sin(h + x) * x)", dict(x=(2, 3))),
])
def test_np_zeros_and_ones_with_sizes(body, shapes):
    src = f"def f(x):\n    N, H = x.shape\n    {body}\n"
    prog = derive.stage(src, shapes=shapes)
    x = np.random.default_rng(5).standard_normal(shapes["x"])
    got = prog.run(x=x)
    exact = sympy_gradient(prog, dict(x=x))
    np.testing.assert_allclose(got.grad["x"], exact["x"], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("call, words", [
    ("np.zeros((N, x))", "the size x is not a constant or a size of the inputs"),
    ("np.zeros((N, H), dtype=float)", "with the sizes only (no dtype=)"),
    ("np.ones((1, 2, 3, 4, 5))", "give one to 4 sizes"),
])
def test_np_zeros_refusals(call, words):
    src = f"def f(x):\n    N, H = x.shape\n    return np.sum({call} * x)\n"
    with pytest.raises(DeriveError) as err:
        derive.stage(src, shapes={"x": (2, 3)})
    assert words in str(err.value) and "\n" not in str(err.value)


# ---- refusals, in one line ------------------------------------------------------------------
LOOP = """
def f(x, w):
    h = [x]
    for t in range(3):
        {body}
    return {ret}
"""


@pytest.mark.parametrize("body, ret, words", [
    ("h.append(np.tanh(h[t - 1] * w))", "np.sum(np.stack(h))", "other than the last one"),
    ("h.append(np.tanh(h[-1] * w))\n        h.append(h[-1] * 2)", "np.sum(np.stack(h))", "appended to 2 times"),
    ("h.append(np.tanh(np.sum(np.stack(h)) * w))", "np.sum(np.stack(h))", "stacking the list h inside"),
    ("h.append(np.tanh(h[-1] * w))", "np.sum(h[t])", "index the list h by a constant"),
    ("h.append(np.tanh(h[-1] * w))", "np.sum(np.stack(h[2:]))", "sliced only as h[k:] with k at most 1"),
    ("h.append(np.tanh(h[-1] * w))", "np.sum(np.concatenate(h))", "np.stack it instead"),
    ("h.append((x, w))", "np.sum(np.stack(h))", "filled with tuples"),
    ("h.append(np.tanh(h[-1] * w))", "np.sum(h)", "read it as np.stack(h, axis=k)"),
])
def test_list_refusals_name_the_problem(body, ret, words):
    src = LOOP.format(body=body, ret=ret)
    with pytest.raises(DeriveError) as err:
        derive.stage(src, shapes={"x": (2,), "w": (2,)})
    assert words in str(err.value) and "\n" not in str(err.value)


def test_cli_json_and_python_of_a_rolled_list(tmp_path):
    path = tmp_path / "rnn.py"
    path.write_text(rnn_layers.source())
    shapes = "x=2x5x3,h0=2x4,Wx=3x4,Wh=4x4,b=4"
    out = _cli("stage", f"{path}:rnn_forward_stacked", "--shapes", shapes, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["loops"][0]["lists"] == {"next_hs": [11, "next_h", "h"]}
    code = "\n".join(data["code"])
    assert "h = np.stack(next_hs, axis=1)" in code and "    dnext_h += dh[:, t]" in code
    printed = _cli("stage", f"{path}:rnn_forward_stacked", "--shapes", shapes, "--format", "python")
    assert printed.returncode == 0, printed.stderr
    point = _point()
    dh = np.random.default_rng(1).standard_normal((2, 5, 4))
    ns = {}
    exec(printed.stdout, ns)  # derive's printed module
    fn = [v for k, v in ns.items() if k.endswith("_and_grad")][0]
    value, grads = fn(*[point[k] for k in ARGS], dh)
    h, published = _published(point, dh)
    np.testing.assert_allclose(value, h, rtol=1e-12)
    for k in ARGS:
        np.testing.assert_allclose(grads[k], published[k], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["rnn_forward", "rnn_forward_list", "rnn_states_loss"])
def test_check_compares_with_central_differences(name):
    """derive.check of a rolled program (references read unrolled); central differences of the
    rolled program itself run its compiled loops; sympy.diff of every component reads straight-line
    programs and refuses the rolled one in one line."""
    prog = _stage(name, _point(T=3))
    result = derive.check(prog)
    assert result.ok and result.max_err_numeric < 1e-6
    point = _point(T=3)
    up = np.random.default_rng(2).standard_normal((2, 3, 4)) if prog.upstream is not None else None
    staged = prog.run(**point, upstream=up).grad
    numeric = central_differences(prog, point, upstream=up)  # the rolled loops, compiled as printed
    for k in ARGS:
        np.testing.assert_allclose(staged[k], numeric[k], rtol=1e-6, atol=1e-7, err_msg=k)
    with pytest.raises(DeriveError, match="rolled loop"):
        sympy_gradient(prog, point)


def test_a_list_appended_only_in_a_branch_not_taken_stays_a_list():
    src = """
def f(x, mode):
    h = []
    s = x
    for t in range(3):
        s = np.tanh(s)
        if mode == "keep":
            h.append(s)
    h.append(s)
    return np.sum(np.stack(h))
"""
    prog = derive.stage(src, shapes={"x": (2,)}, constants={"mode": "drop"})
    x = np.array([0.4, -1.2])
    assert prog.run(x=x).value == pytest.approx(np.sum(np.tanh(np.tanh(np.tanh(x)))))


@pytest.mark.parametrize("name", ["rnn_forward", "rnn_states_loss"])
def test_latex_and_markdown_listings_of_lists_and_in_place_writes(name):
    prog = _stage(name, _point(T=3))
    assert "\\begin{aligned}" in prog.to_latex()
    text = prog.to_markdown()
    assert ("h_1[(slice(None, None), t, slice(None, None),)] = next_h" in text if name == "rnn_forward"
            else "states = np.stack([h0, *h], axis=1)" in text)
