"""The speed path (``prog.gradient_function()`` for arrays, derive.staging.optimize): the same
value and gradients as the unoptimised program (1e-10) and as central differences of the real
functions, on the CS231n corpus, the iris network and every array row's examples; the listings
learners read are not changed by it."""
import numpy as np
import pytest

import derive
from derive import DeriveError
from derive.core.rules import ARRAY_RULES
from derive.oracle.central import central_difference
from derive.staging.optimize import speed_source
from derive.teach.iris import NETWORK
from tests.test_real_code import LABELS, STAGES, _point, corpus, reference

N, D, H = 4, 3, 3
LAYERS = {  # (module, function) -> (shapes, constants, labels)
    ("layers", "affine_forward"): (dict(x=(N, D), w=(D, H), b=(H,)), None, None),
    ("layers", "relu_forward"): (dict(x=(N, D)), None, None),
    ("layer_utils", "affine_relu_forward"): (dict(x=(N, D), w=(D, H), b=(H,)), None, None),
    ("layers", "batchnorm_forward"): (dict(x=(N, D), gamma=(D,), beta=(D,)), {"bn_param": {"mode": "train"}}, None),
    ("layers", "batchnorm_forward_staged"): (dict(x=(N, D), gamma=(D,), beta=(D,)), {"bn_param": {}}, None),
    ("layers", "layernorm_forward"): (dict(x=(N, D), gamma=(D,), beta=(D,)), {"ln_param": {"eps": 1e-5}}, None),
    ("layers", "softmax_loss"): (dict(x=(N, D), y=(N,)), None, ("y", D)),
    ("layers", "svm_loss"): (dict(x=(N, D), y=(N,)), None, ("y", D)),
    ("rnn_layers", "rnn_step_forward"): (dict(x=(N, D), prev_h=(N, H), Wx=(D, H), Wh=(H, H), b=(H,)), None, None),
    ("rnn_layers", "lstm_step_forward"): (dict(x=(N, D), prev_h=(N, H), prev_c=(N, H), Wx=(D, 4 * H),
                                               Wh=(H, 4 * H), b=(4 * H,)), None, None),
    ("rnn_layers", "word_embedding_forward"): (dict(x=(N,), W=(5, H)), None, ("x", 5)),
    ("linear_classifiers", "softmax_loss_vectorized"): (dict(W=(D, H), X=(N, D), y=(N,), reg=()), None, ("y", H)),
}


def _same(prog, point, upstream=None, rtol=1e-10):
    """The speed path's value and gradients against ``prog.run`` (every line, unoptimised)."""
    result = prog.run(**point, upstream=upstream)
    args = [point[p] for p in prog.param_names] + ([upstream] if upstream is not None else [])
    out = prog.gradient_function(value=True)(*args)
    np.testing.assert_allclose(out[0], result.value, rtol=rtol, atol=1e-12)
    assert len(out) == 1 + len(prog.grads)
    for (p, _), g, alone in zip(prog.grads.items(), out[1:], prog.gradient_function()(*args)):
        np.testing.assert_allclose(g, result.grad[p], rtol=rtol, atol=1e-12, err_msg=f"d{p}")
        np.testing.assert_allclose(alone, g, rtol=1e-15, atol=0, err_msg=f"d{p} (gradients only)")
    return result


@pytest.mark.parametrize("key", list(LAYERS), ids=lambda k: k[1])
@pytest.mark.parametrize("seed", [0, 1])
def test_corpus_layers_speed_path_equals_the_staged_program(key, seed):
    shapes, constants, labels = LAYERS[key]
    prog = corpus(*key, shapes=shapes, constants=constants)
    point = _point(shapes, seed, labels)
    up = np.random.default_rng(seed + 7).normal(size=prog.shapes[prog.output.name]) if prog.upstream else None
    _same(prog, point, up)


@pytest.mark.parametrize("name", list(STAGES))
def test_corpus_speed_path_matches_central_differences_of_the_real_function(name):
    shapes, constants = STAGES[name]
    prog = corpus("checks", name, shapes, constants)
    point = _point(shapes, 3, LABELS.get(name))
    real, extra = reference("checks", name), dict(constants or {})
    out = dict(zip(prog.grads, prog.gradient_function()(*[point[p] for p in prog.param_names])))
    for p in prog.grads:
        fd = central_difference(lambda pt: real(**pt, **extra), point, p)
        np.testing.assert_allclose(out[p], fd, rtol=1e-6, atol=1e-7, err_msg=f"{name}: d{p}")
    _same(prog, point)


@pytest.mark.parametrize("wrt", [None, ["W1", "b1", "W2", "b2"]])
def test_iris_speed_path_equals_the_staged_program(wrt):
    shapes = dict(X=(150, 4), W1=(4, 16), b1=(16,), W2=(16, 3), b2=(3,), y=(150,))
    prog = derive.stage(NETWORK, shapes=shapes, wrt=wrt)
    point = _point(shapes, 5, ("y", 3))
    _same(prog, point)
    src = speed_source(prog)
    assert "softmax(" not in src and "onehot(" not in src  # the forward line's probabilities are kept
    assert ("dX =" in src) == (wrt is None)


def _examples():
    for name, rule in ARRAY_RULES.items():
        for k, (params, body, shapes) in enumerate(rule.examples):
            yield pytest.param(params, body, shapes, id=f"{name}-{k}")


@pytest.mark.parametrize("params, body, shapes", list(_examples()))
def test_every_array_row_example_speed_path_equals_the_staged_program(params, body, shapes):
    src = f"def f({params}):\n    return {body}\n"
    prog = derive.stage(src, shapes=shapes)
    labels = next(((p, 2) for p in prog.labels), None)
    point = _point(shapes, 11, labels)
    try:
        prog.run(**point)
    except DeriveError:  # a point this example cannot run at (an index out of range): not the path's job
        pytest.skip("the example does not run at this point")
    _same(prog, point)


def test_softmax_shift_has_no_backward_lines_in_the_speed_path():
    shapes, constants, labels = LAYERS[("layers", "softmax_loss")]
    prog = corpus("layers", "softmax_loss", shapes=shapes)
    src = speed_source(prog)
    assert "== maxx" in prog.backward_code() and "== maxx" not in src  # the tie-split of a zero adjoint
    assert "np.add.at" not in src and "[rangeN, y] =" in src  # rows = np.arange(N): no index repeats
    assert "setitem" not in src and "\n    probs = " not in src  # the function's own dx lines are not needed
    _same(prog, _point(shapes, 2, labels))


SHIFTS = [  # (source, shapes, text of the shift's backward line, kept in the speed path)
    ("def f(x):\n    m = np.max(x, axis=1, keepdims=True)\n    s = x - m\n"  # not shift-invariant
     "    return np.sum(np.exp(s)) + np.sum(np.log(np.sum(np.exp(s), axis=1, keepdims=True)))\n",
     {"x": (3, 4)}, "== m", True),
    ("def f(x, w):\n    c = x - np.mean(x, axis=1, keepdims=True)\n"  # a log-softmax: invariant
     "    lp = c - np.log(np.sum(np.exp(c), axis=1, keepdims=True))\n    return np.sum(lp * w)\n",
     {"x": (3, 4), "w": (3, 4)}, "dmeanx", False),
]


@pytest.mark.parametrize("src, shapes, marker, kept", SHIFTS)
def test_a_shift_loses_its_backward_lines_only_where_the_output_does_not_depend_on_it(src, shapes, marker, kept):
    prog = derive.stage(src, shapes=shapes)
    assert marker in prog.backward_code() and (marker in speed_source(prog)) == kept
    _same_as_central_differences(src, prog, _point(shapes, 4))


def test_repeated_indices_keep_np_add_at():
    shapes, _, labels = LAYERS[("rnn_layers", "word_embedding_forward")]
    prog = corpus("rnn_layers", "word_embedding_forward", shapes=shapes)
    assert "np.add.at" in speed_source(prog)
    point = {"x": np.array([1, 1, 3, 1]), "W": np.arange(15.0).reshape(5, 3)}
    _same(prog, point, np.ones((4, 3)))


def test_batchnorm_speed_path_folds_constants_out_of_the_sums_and_combines_the_branches():
    shapes, constants, _ = LAYERS[("layers", "batchnorm_forward")]
    prog = corpus("layers", "batchnorm_forward", shapes=shapes, constants=constants)
    src = speed_source(prog)
    assert "dden_full" not in src and "ones_like" not in src and ".copy()" not in src
    assert "(num * dx_hat).sum(axis=0) / den ** 2" in src
    assert "np.mean(x, axis=0, keepdims=True)" not in src  # the centred x is the forward `num`
    assert src.count("dx =") == 1 and "dx +=" not in src


def test_listings_are_the_staged_derivation_before_and_after_the_speed_path():
    shapes, constants, _ = LAYERS[("layers", "batchnorm_forward")]
    prog = corpus("layers", "batchnorm_forward", shapes=shapes, constants=constants)
    before = (prog.to_text(), prog.to_python(), prog.to_latex(), prog.to_markdown())
    prog.gradient_function()
    assert (prog.to_text(), prog.to_python(), prog.to_latex(), prog.to_markdown()) == before
    assert "dden_full" in before[0] and "np.ones_like(x)" in before[0]


def test_gradient_function_of_a_shape_free_array_program_is_one_line():
    prog = derive.stage("def f(W, x):\n    return np.sum(np.tanh(W @ x))\n")
    with pytest.raises(DeriveError, match="give shapes first"):
        prog.gradient_function()
    with pytest.raises(DeriveError, match="value=True is for array programs"):
        derive.stage("x*y").gradient_function(value=True)


def test_a_shift_whose_input_forks_keeps_the_other_contributions():
    """x feeds the shift and another term: dropping the max's line leaves x's first write to the
    next contribution (a copy when later lines add into it)."""
    src = ("def f(x, w):\n    s = x - np.max(x, axis=1, keepdims=True)\n"
           "    lp = s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))\n"
           "    return np.sum(lp * w) + np.sum(x * x) + np.sum(np.sin(x))\n")
    shapes = {"x": (3, 4), "w": (3, 4)}
    prog = derive.stage(src, shapes=shapes)
    assert "== " not in speed_source(prog)
    _same_as_central_differences(src, prog, _point(shapes, 9))


def _same_as_central_differences(src, prog, point):
    """The speed path equals the program, and d/dx central differences of ``src`` itself."""
    result = _same(prog, point)
    ns = {"np": np}
    exec(src, ns)  # the test's own function
    fd = central_difference(lambda pt: ns["f"](**pt), point, "x")
    np.testing.assert_allclose(result.grad["x"], fd, rtol=1e-6, atol=1e-7)
