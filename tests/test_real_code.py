"""Real course code as written: the CS231n-style corpus (tests/data/cs231n) read, never run, by
derive; its gradients against central differences of the Python functions themselves.

The corpus functions are inlined into scalar wrappers (checks.py: ``np.sum(out * G)``) until
upstream gradients let layers with array outputs be checked directly.
"""
import importlib
import os

import numpy as np
import pytest

from derive import DeriveError
from derive.oracle.central import central_difference
from derive.symbolic.jacobians import check_arrays
from derive.staging.arrays import stage_arrays

HERE = os.path.join(os.path.dirname(__file__), "data", "cs231n")
N, D, M, H, V = 4, 3, 2, 3, 5


def corpus(module, name, shapes=None, constants=None, **kw):
    """Stage function ``name`` of corpus file ``module``.py as the CLI does (read, never run)."""
    path = os.path.join(HERE, module + ".py")
    with open(path, encoding="utf-8") as fh:
        source = fh.read()
    return stage_arrays(source, shapes=shapes, constants=constants, name=name, path=path, **kw)


def reference(module, name):
    """The corpus function itself, imported by the test (our own test data) to run it."""
    return getattr(importlib.import_module(f"tests.data.cs231n.{module}"), name)


STAGES = {  # wrapper -> (shapes, constants)
    "check_affine": (dict(x=(N, D), w=(D, M), b=(M,), G=(N, M)), None),
    "check_relu": (dict(x=(N, M), G=(N, M)), None),
    "check_affine_relu": (dict(x=(N, D), w=(D, M), b=(M,), G=(N, M)), None),
    "check_batchnorm": (dict(x=(N, D), gamma=(D,), beta=(D,), G=(N, D)), {"bn_param": {"mode": "train"}}),
    "check_batchnorm_staged": (dict(x=(N, D), gamma=(D,), beta=(D,), G=(N, D)), {"bn_param": {"eps": 1e-3}}),
    "check_layernorm": (dict(x=(N, D), gamma=(D,), beta=(D,), G=(N, D)), {"ln_param": {}}),
    "check_rnn_step": (dict(x=(N, D), prev_h=(N, H), Wx=(D, H), Wh=(H, H), b=(H,), G=(N, H)), None),
    "check_word_embedding": (dict(x=(N,), W=(V, H), G=(N, H)), None),
    "check_softmax": (dict(x=(N, M), y=(N,)), None),
    "check_svm": (dict(x=(N, M), y=(N,)), None),
    "check_lstm_step": (dict(x=(N, D), prev_h=(N, H), prev_c=(N, H), Wx=(D, 4 * H), Wh=(H, 4 * H),
                             b=(4 * H,), G=(N, H)), None),
}
LABELS = {"check_word_embedding": ("x", V), "check_softmax": ("y", M), "check_svm": ("y", M)}  # integers


def _point(shapes, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    point = {k: rng.normal(size=s) for k, s in shapes.items()}
    if labels:
        point[labels[0]] = rng.integers(0, labels[1], size=shapes[labels[0]])
    return point


@pytest.mark.parametrize("name", list(STAGES))
def test_corpus_layer_gradient_matches_central_differences_of_the_real_function(name):
    shapes, constants = STAGES[name]
    prog = corpus("checks", name, shapes, constants)
    point = _point(shapes, labels=LABELS.get(name))
    result = prog.run(**point)
    real = reference("checks", name)
    extra = dict(constants or {})
    assert result.value == pytest.approx(real(**point, **extra), rel=1e-12)
    for p in shapes:
        if p in LABELS.get(name, ()):
            assert p not in result.grad  # indices and class labels get no gradient
            continue
        fd = central_difference(lambda pt: real(**pt, **extra), point, p)
        np.testing.assert_allclose(result.grad[p], fd, rtol=1e-6, atol=1e-7, err_msg=f"{name}: d{p}")


@pytest.mark.parametrize("name", ["check_affine", "check_relu", "check_batchnorm", "check_layernorm"])
def test_small_corpus_layers_match_sympy_diff(name):
    shapes, constants = STAGES[name]
    small = {k: (2,) * len(s) if len(s) == 1 else (2, 2) for k, s in shapes.items()}
    report = check_arrays(corpus("checks", name, small, constants), seed=4)
    assert report.ok and report.max_err_sympy is not None, report


def test_a_construct_inside_a_helper_names_the_helper_and_its_call():
    src = "def h(z):\n    if np.sum(z) > 0:\n        z = -z\n    return z\n\ndef f(x):\n    return np.sum(h(x))\n"
    with pytest.raises(DeriveError) as err:
        stage_arrays(src, name="f")
    assert "an if statement at line 2" in str(err.value) and "(in h, called at line 7)" in str(err.value)


@pytest.mark.parametrize("module, name, constants", [
    ("layers", "affine_forward", None), ("layers", "relu_forward", None),
    ("layer_utils", "affine_relu_forward", None),
    ("layers", "batchnorm_forward", {"bn_param": {"mode": "train"}}),
    ("layers", "batchnorm_forward_staged", {"bn_param": {}}),
    ("layers", "layernorm_forward", {"ln_param": {"eps": 1e-5}}),
    ("rnn_layers", "rnn_step_forward", None), ("rnn_layers", "word_embedding_forward", None),
    ("layers", "softmax_loss", None), ("layers", "svm_loss", None), ("rnn_layers", "lstm_step_forward", None),
])
def test_corpus_functions_stage_as_written(module, name, constants):
    """The layers themselves, unchanged, stage (their outputs: out of out, cache; loss of loss, dx)."""
    prog = corpus(module, name, constants=constants)
    assert prog.forward and prog.backward
    assert any("returns (" in n for n in prog.notes)  # out, cache: the first item is differentiated


def test_batchnorm_notes_the_branch_not_taken_and_the_ignored_writes():
    prog = corpus("layers", "batchnorm_forward", constants={"bn_param": {"mode": "train"}})
    notes = "\n".join(prog.notes)
    assert "`mode == 'train'` is True, so the branch at line 74 is not staged" in notes
    assert "the write into bn_param['running_mean'] is ignored" in notes
    assert "not staged (it does not reach the output)" in notes  # running_mean's np.zeros default
    with pytest.raises(DeriveError, match=r"bn_param\['running_mean'\] is not given .*constants="):
        corpus("layers", "batchnorm_forward", constants={"bn_param": {"mode": "test"}})
    with pytest.raises(DeriveError, match=r"raises at line 78 of batchnorm_forward .*give other values in constants="):
        corpus("checks", "check_batchnorm", constants={"bn_param": {"mode": "eval"}})
    with pytest.raises(DeriveError, match=r"bn_param has no key 'mode' .*constants="):
        corpus("checks", "check_batchnorm", constants={"bn_param": {}})


def test_inlined_lines_are_labelled_with_the_helper():
    prog = corpus("checks", "check_affine_relu", STAGES["check_affine_relu"][0])
    code = prog.forward_code()
    assert "in affine_forward" in code and "in relu_forward" in code
    assert {ln.label for ln in prog.forward} == {"affine_forward", "relu_forward", ""}


def test_hand_written_gradient_is_compared():
    shapes = dict(W=(D, M), X=(N, D), t=(N, M))
    prog = corpus("linear_classifiers", "l2_regression_loss", shapes)
    point = _point(shapes, seed=2)
    result = prog.run(**point, reg=0.3)
    assert any("your dW agrees with the generated gradient of W" in n for n in result.notes)
    real = reference("linear_classifiers", "l2_regression_loss")
    assert result.value == pytest.approx(real(**point, reg=0.3)[0], rel=1e-12)
    fd = central_difference(lambda pt: real(**pt)[0], {**point, "reg": 0.3}, "reg")
    assert float(result.grad["reg"]) == pytest.approx(fd, rel=1e-6)  # reg: a differentiable number
    np.testing.assert_allclose(result.grad["W"], real(**point, reg=0.3)[1], rtol=1e-10)


def test_wrong_hand_written_gradient_is_reported():
    src = ("def loss(W, X):\n    s = X.dot(W)\n    loss = 0.5 * np.sum(s * s)\n"
           "    dW = X.dot(s)\n    return loss, dW\n")  # should be X.T.dot(s)
    prog = stage_arrays(src, shapes=dict(W=(3, 3), X=(3, 3)))
    notes = prog.run(**_point(dict(W=(3, 3), X=(3, 3)))).notes
    assert any("your dW differs from the generated gradient of W" in n for n in notes)


def test_unstaged_hand_written_gradient_is_noted_not_compared():
    src = ("def loss(W, X):\n    s = X.dot(W)\n    dW = np.zeros_like(W)\n    dW[0][1] = 1\n"
           "    return np.sum(s * s), dW\n")
    prog = stage_arrays(src, shapes=dict(W=(2, 2), X=(2, 2)))
    assert any("your own gradient dW (returned) is not staged" in n for n in prog.notes)


# ---- constructs, one at a time ----------------------------------------------------------------
TUPLE = ("def f(x, w):\n    out = None\n    out = np.tanh(x.dot(w))\n    s = np.sum(out)\n"
         "    cache = (x, w)\n    return s, out, cache\n")


def test_tuple_return_differentiates_the_first_item_and_output_picks_another():
    shapes = dict(x=(2, 3), w=(3,))
    prog = stage_arrays(TUPLE, shapes=shapes)
    assert str(prog.output) == "s"
    other = stage_arrays(TUPLE, output="out")
    assert str(other.output) == "out"
    with pytest.raises(DeriveError, match=r"the output cache is a tuple, not a number or array"):
        stage_arrays(TUPLE, output="cache")
    with pytest.raises(DeriveError, match=r"output='z': no such value; the function returns \(s, out, cache\)"):
        stage_arrays(TUPLE, output="z")


def test_none_used_before_it_is_assigned_is_one_line():
    with pytest.raises(DeriveError, match="'out' is None at line 3: give it a value"):
        stage_arrays("def f(x):\n    out = None\n    return np.sum(out * x)\n")


def test_a_tuple_used_as_a_number_is_one_line():
    with pytest.raises(DeriveError, match=r"'c' is a tuple at line 3: unpack it first"):
        stage_arrays("def f(x):\n    c = (x, x)\n    return np.sum(c)\n")


@pytest.mark.parametrize("body, shapes", [
    ("return x.sum()", dict(x=(3, 2))),
    ("return np.sum(x.sum(axis=0) * x.mean(axis=1).sum())", dict(x=(3, 2))),
    ("return np.sum(x.var(axis=0)) + x.mean()", dict(x=(3, 2))),
    ("return np.sum(x - x.max(axis=1, keepdims=True))", dict(x=(3, 2))),
    ("return np.sum(np.exp(x - np.max(x, axis=1, keepdims=True)))", dict(x=(3, 2))),
    ("return np.sum(x.reshape(x.shape[0], -1).dot(w).T)", dict(x=(3, 2), w=(2, 2))),
    ("return np.sum(x.reshape(x.shape[0], np.prod(x.shape[1:])).dot(w))", dict(x=(3, 2), w=(2, 2))),
    ("return np.sum(np.square(x) * np.multiply(x, w))", dict(x=(3, 2), w=(3, 2))),
    ("return np.sum(x.relu() * w.tanh() + w.exp())", dict(x=(3, 2), w=(3, 2))),
    ("return np.sum(np.zeros_like(x) + x.transpose().dot(w))", dict(x=(2, 2), w=(2, 2))),
])
def test_method_calls_and_new_rows_match_sympy_diff_and_central_differences(body, shapes):
    params = ", ".join(shapes)
    prog = stage_arrays(f"def f({params}):\n    {body}\n", shapes=shapes)
    report = check_arrays(prog, seed=1)
    assert report.ok and report.max_err_sympy is not None, report


def test_shape_unpacking_dict_parameters_and_module_constants():
    src = ("EPS = 1e-3\n\ndef f(x, p):\n    N, D = x.shape\n    scale = p.get('scale', 2.0)\n"
           "    k = p['k']\n    return np.sum(x * scale * k) / (N * D) + EPS\n")
    prog = stage_arrays(src, shapes=dict(x=(3, 2)), constants={"p": {"k": 3}})
    x = _point(dict(x=(3, 2)))["x"]
    result = prog.run(x=x)
    assert result.value == pytest.approx(np.sum(x * 6.0) / 6 + 1e-3)
    np.testing.assert_allclose(result.grad["x"], np.full((3, 2), 1.0))
    assert prog.param_names == ["x"]  # p is configuration, not an input
    overridden = stage_arrays(src, shapes=dict(x=(3, 2)), constants={"p": {"k": 1}, "EPS": 0.0})
    assert overridden.run(x=x).value == pytest.approx(np.sum(x * 2.0) / 6)


def test_a_configuration_branch_is_resolved_with_a_note():
    src = ("def f(x, mode):\n    if mode == 'square':\n        y = x * x\n    elif mode == 'cube':\n"
           "        y = x * x * x\n    else:\n        raise ValueError(mode)\n    return np.sum(y)\n")
    prog = stage_arrays(src, shapes=dict(x=(2,)), constants={"mode": "cube"})
    x = np.array([0.5, -2.0])
    np.testing.assert_allclose(prog.run(x=x).grad["x"], 3 * x ** 2)
    assert "`mode == 'square'` is False, so the branch at line 3 is not staged" in prog.notes[0]
    with pytest.raises(DeriveError, match="raises at line 7"):
        stage_arrays(src, constants={"mode": "sin"})


def test_a_branch_on_the_inputs_stays_refused():
    with pytest.raises(DeriveError, match="an if statement at line 2 whose condition depends on the inputs"):
        stage_arrays("def f(x):\n    if np.sum(x) > 0:\n        x = -x\n    return np.sum(x)\n")


def test_in_place_update_reaching_the_output_is_refused():
    src = "def f(x):\n    y = x * 2\n    y[0][1] = 1\n    return np.sum(y)\n"
    with pytest.raises(DeriveError, match=r"in-place update y\[0\]\[1\] = \.\.\. at line 3; build a new array"):
        stage_arrays(src)


def test_reg_is_a_differentiable_number_and_constants_are_checked():
    src = "def f(W, reg):\n    return 0.5 * reg * np.sum(W * W)\n"
    prog = stage_arrays(src, shapes=dict(W=(2, 2)))
    W = np.array([[1.0, 2.0], [3.0, -1.0]])
    result = prog.run(W=W, reg=0.1)
    assert float(result.grad["reg"]) == pytest.approx(0.5 * np.sum(W * W))
    assert any("no shape given for reg" in n for n in prog.notes)
    with pytest.raises(DeriveError, match="constants: f\\(\\) has no parameter 'lam'"):
        stage_arrays(src, constants={"lam": 1.0})
    with pytest.raises(DeriveError, match="must be a number, string"):
        stage_arrays(src, constants={"reg": object()})


def test_helpers_of_this_test_module_are_inlined_from_its_source():
    prog = stage_arrays(_uses_helpers, shapes=dict(x=(3,), w=(3,)))
    x, w = np.array([0.3, -1.2, 2.0]), np.array([1.5, 0.5, -0.7])
    result = prog.run(x=x, w=w)
    assert result.value == pytest.approx(_uses_helpers(x, w))
    fd = central_difference(lambda pt: _uses_helpers(**pt), {"x": x, "w": w}, "x")
    np.testing.assert_allclose(result.grad["x"], fd, rtol=1e-6)
    assert "in _scaled_tanh" in prog.forward_code()


SCALE = 2.0


def _scaled_tanh(z, k=SCALE):
    h = np.tanh(z) * k
    return h, z


def _uses_helpers(x, w):
    h, _ = _scaled_tanh(x * w)
    return np.sum(h * h)


def test_parameter_called_dout_keeps_names_readable():
    src = "def f(x, dout):\n    out = x * dout\n    return np.sum(out)\n"
    prog = stage_arrays(src, shapes=dict(x=(2,), dout=(2,)))
    names = [str(b.target) for b in prog.backward]
    assert "ddout" in names and "d_out" in names and not any(n.startswith("ddd") for n in names)


def test_cli_at_takes_configuration(tmp_path, capsys):
    from derive.cli.main import main

    code = main(["stage", os.path.join(HERE, "checks.py") + ":check_batchnorm", "--shapes",
                 "x=4x3,gamma=3,beta=3,G=4x3", "--at", "bn_param={'mode': 'train'}"])
    out = capsys.readouterr().out
    assert code == 0 and "x_hat = num/den" in out and "in batchnorm_forward" in out
    code = main(["stage", os.path.join(HERE, "checks.py") + ":check_relu",
                 "--at", "x=[[1.0, -2.0]],G=[[0.5, 3.0]]"])
    assert code == 0 and "dx/" not in capsys.readouterr().err


# ---- scalar functions read by the same statement reader ------------------------------------------
def test_scalar_tuple_return_and_output():
    from derive import check, stage

    src = "def f(x, y):\n    s = None\n    s = x * y + y\n    t = s * s\n    return t, s\n"
    prog = stage(src)
    assert prog.run(x=2.0, y=3.0).value == pytest.approx(81.0)
    assert stage(src, output="s").run(x=2.0, y=3.0).grad == pytest.approx({"x": 3.0, "y": 3.0})
    assert check(prog).ok


def test_micrograd_methods_in_a_scalar_function_match_sympy_diff():
    from derive import check, stage

    src = "def f(a, b):\n    c = a * b + b**3\n    d = c.relu() + c.tanh() + a.exp()\n    return d\n"
    report = check(stage(src))
    assert report.ok, report
    with pytest.raises(DeriveError, match="unknown function 'x.foo' at line 2"):
        stage("def g(x):\n    return x.foo()\n")


def test_stage_takes_constants_and_output():
    from derive import stage

    src = "def f(x, p):\n    y = np.tanh(x) * p['k']\n    return np.sum(y), y\n"
    prog = stage(src, shapes=dict(x=(2,)), constants={"p": {"k": 2.0}})
    x = np.array([0.0, 1.0])
    np.testing.assert_allclose(prog.run(x=x).grad["x"], 2.0 * (1 - np.tanh(x) ** 2))
    assert str(stage(src, constants={"p": {"k": 2.0}}, output="y").output) == "y"


# ---- the generated backward equals the course's hand-written backward ------------------------------
@pytest.mark.parametrize("wrapper, forward, backward, module, constants", [
    ("check_affine", "affine_forward", "affine_backward", "layers", None),
    ("check_relu", "relu_forward", "relu_backward", "layers", None),
    ("check_batchnorm", "batchnorm_forward", "batchnorm_backward_alt", "layers", {"bn_param": {"mode": "train"}}),
    ("check_rnn_step", "rnn_step_forward", "rnn_step_backward", "rnn_layers", None),
])
def test_generated_gradient_equals_the_hand_written_backward(wrapper, forward, backward, module, constants):
    """With upstream G (the wrapper returns np.sum(out * G)), derive's gradient of each input is
    the course's backward(dout=G, cache), to 1e-10."""
    shapes = STAGES[wrapper][0]
    point = _point(shapes, seed=5)
    grad = corpus("checks", wrapper, shapes, constants).run(**point).grad
    inputs = {k: v for k, v in point.items() if k != "G"}
    out, cache = reference(module, forward)(**inputs, **{k: dict(v) for k, v in (constants or {}).items()})
    theirs = reference(module, backward)(point["G"], cache)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    for name, value in zip([p for p in inputs if p in grad], theirs):
        np.testing.assert_allclose(grad[name], value, rtol=1e-10, atol=1e-12, err_msg=f"{backward}: d{name}")


@pytest.mark.parametrize("kw, fragment", [
    (dict(constants=[("p", 1)]), "constants= must be a dict"),
    (dict(constants={"p": {"k": object()}}), "constants: p['k'] must be a number"),
    (dict(output=3), "output= names a returned value"),
])
def test_bad_options_are_one_line(kw, fragment):
    with pytest.raises(DeriveError) as err:
        stage_arrays("def f(x, p):\n    return np.sum(x)\n", **kw)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_recursive_helper_is_refused():
    src = "def h(x):\n    return h(x * 2)\n\ndef f(x):\n    return np.sum(h(x))\n"
    with pytest.raises(DeriveError, match="helpers call each other more than 20 deep"):
        stage_arrays(src, name="f")


def test_helper_defaults_are_read_in_the_helpers_own_module(tmp_path):
    (tmp_path / "lib.py").write_text("K = 3.0\n\ndef scale(z, k=K):\n    return z * k\n")
    (tmp_path / "main.py").write_text("from lib import scale\nK = 100.0\n\n"
                                      "def f(x):\n    return np.sum(scale(x))\n")
    prog = stage_arrays((tmp_path / "main.py").read_text(), name="f", path=str(tmp_path / "main.py"))
    assert prog.run(x=np.array([1.0, 2.0])).value == pytest.approx(9.0)


@pytest.mark.parametrize("src, fragment", [
    # y += 1 also changes x (one array): staging y = y + 1 alone would give a wrong number
    ("def f(x):\n    y = x\n    y += 1\n    return np.sum(x * y)\n", "changes in place the array that x also names"),
    ("def f(x):\n    y = x * 2\n    z = y\n    z[0] = 1\n    return np.sum(y)\n", "in-place update z[0]"),
    ("def h(a):\n    a *= 2\n    return a\n\n"
     "def f(x):\n    y = x * 1\n    z = h(y)\n    return np.sum(y * z)\n",
     "changes in place the array that the caller also names"),
    ("def f(x, p):\n    p['k'] = 2.0\n    return np.sum(x) * p['k']\n", "p['k'] is read after line 2 wrote it"),
])
def test_in_place_changes_never_give_a_silently_wrong_number(src, fragment):
    with pytest.raises(DeriveError) as err:
        stage_arrays(src, name="f", constants={"p": {"k": 1.0}} if "p)" in src else None)
    assert fragment in str(err.value)


def test_in_place_change_of_a_fresh_array_is_staged():
    src = ("def f(x):\n    s = x * 2\n    s -= np.max(s, axis=1, keepdims=True)\n    loss = 0.0\n"
           "    loss += np.sum(s * s)\n    return loss\n")
    report = check_arrays(stage_arrays(src, shapes=dict(x=(2, 3))), seed=3)
    assert report.ok, report


def test_a_helpers_write_into_configuration_is_seen_by_the_caller():
    src = ("def h(x, p):\n    p['k'] = 5.0\n    return x\n\n"
           "def f(x, p):\n    y = h(x, p)\n    return np.sum(y) * p['k']\n")
    given = {"p": {"k": 1.0}}
    with pytest.raises(DeriveError, match=r"p\['k'\] is read after line 2 wrote it"):
        stage_arrays(src, name="f", constants=given)
    assert given == {"p": {"k": 1.0}}  # the caller's constants are not changed


def _square(a):
    return a * a


def _scalar_with_helper(x, y):
    return _square(x) * y + 1


def test_a_scalar_function_calling_a_helper_of_its_module():
    from derive import stage

    result = stage(_scalar_with_helper).run(x=1.5, y=-2.0)
    assert result.value == pytest.approx(_scalar_with_helper(1.5, -2.0))
    assert float(result.grad["x"]) == pytest.approx(2 * 1.5 * -2.0)
    assert float(result.grad["y"]) == pytest.approx(1.5 ** 2)


def test_a_value_used_only_by_sizes_and_zeros_gets_no_adjoint():
    src = "def f(x):\n    y = x + 1\n    z = np.zeros_like(y)\n    n = y.shape[0]\n    return np.sum(x * n + z)\n"
    report = check_arrays(stage_arrays(src, shapes=dict(x=(2, 3))), seed=2)
    assert report.ok, report


def test_methods_of_a_size_are_one_line():
    with pytest.raises(DeriveError, match=r"\.T of a size"):
        stage_arrays("def f(x):\n    a = np.prod(x.shape[1:])\n    return np.sum(a.T * x)\n", shapes={"x": (2, 3)})


@pytest.mark.parametrize("body", ["a = np.prod(x.shape[1:]) - 1\n    return np.sum(a.T * x)",
                                  "a = x.shape[0]\n    N, D = a.shape\n    return np.sum(x) * N",
                                  "a = 2.0 * 3\n    return np.sum(a.sum() * x)"])
def test_array_operations_on_plain_numbers_are_one_line(body):
    with pytest.raises(DeriveError, match="(a size|a constant) is a number, not an array"):
        stage_arrays(f"def f(x):\n    {body}\n", shapes={"x": (2, 3)})


def test_hand_written_gradient_of_the_wrong_shape_is_reported():
    src = "def loss(W, X):\n    s = X.dot(W)\n    dW = s\n    return 0.5 * np.sum(s * s), dW\n"
    notes = stage_arrays(src, shapes=dict(W=(3, 2), X=(4, 3))).run(**_point(dict(W=(3, 2), X=(4, 3)))).notes
    assert any("your dW has shape (4, 2), but W has shape (3, 2)" in n for n in notes)


# ---- the layers as written, with their upstream dout -------------------------------------------
@pytest.mark.parametrize("module, forward, backward, shapes, constants", [
    ("layers", "affine_forward", "affine_backward", dict(x=(N, D), w=(D, M), b=(M,)), None),
    ("layers", "relu_forward", "relu_backward", dict(x=(N, M)), None),
    ("layers", "batchnorm_forward", "batchnorm_backward_alt", dict(x=(N, D), gamma=(D,), beta=(D,)),
     {"bn_param": {"mode": "train"}}),
    ("rnn_layers", "rnn_step_forward", "rnn_step_backward",
     dict(x=(N, D), prev_h=(N, H), Wx=(D, H), Wh=(H, H), b=(H,)), None),
    ("layers", "layernorm_forward", "layernorm_backward", dict(x=(N, D), gamma=(D,), beta=(D,)),
     {"ln_param": {}}),
])
def test_layer_as_written_with_upstream_equals_the_hand_written_backward(module, forward, backward, shapes,
                                                                         constants):
    """No wrapper: the course's forward function staged as written, run with its upstream dout,
    gives the course's backward(dout, cache) to 1e-10."""
    prog = corpus(module, forward, shapes, constants)
    point = _point(shapes, seed=6)
    out, cache = reference(module, forward)(**point, **{k: dict(v) for k, v in (constants or {}).items()})
    dout = np.random.default_rng(7).normal(size=out.shape)
    result = prog.run(**point, upstream=dout)
    np.testing.assert_allclose(result.value, out, rtol=1e-12)
    theirs = reference(module, backward)(dout, cache)
    for p, value in zip(shapes, theirs if isinstance(theirs, tuple) else (theirs,)):
        np.testing.assert_allclose(result.grad[p], value, rtol=1e-10, atol=1e-12, err_msg=f"{backward}: d{p}")


@pytest.mark.parametrize("name", ["softmax_loss", "svm_loss"])
def test_losses_as_written_check_their_own_hand_written_dx(name):
    """softmax_loss and svm_loss return (loss, dx): the staged gradient equals their dx, and the
    run says so (their dx lines, in-place updates included, are staged too)."""
    shapes = dict(x=(N, M), y=(N,))
    prog = corpus("layers", name, shapes)
    point = _point(shapes, seed=8, labels=("y", M))
    result = prog.run(**point)
    loss, dx = reference("layers", name)(**point)
    assert result.value == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(result.grad["x"], dx, rtol=1e-10, atol=1e-12)
    assert any("your dx agrees with the generated gradient of x" in n for n in result.notes)


@pytest.mark.parametrize("src, shapes", [
    ("def f(x, w):\n    y = x * 2\n    y[0] = 1\n    return np.sum(y * w)\n", dict(x=(3, 2), w=(3, 2))),
    ("def f(x, w):\n    y = x * 2\n    y[:, :1] -= w[:, 1:]\n    return np.sum(np.sin(y))\n", dict(x=(3, 2), w=(3, 2))),
    ("def f(x, y):\n    m = np.exp(x)\n    m[np.arange(3), y] = 0\n    return np.sum(m * m)\n", dict(x=(3, 2), y=(3,))),
    ("def f(x):\n    pos = x >= 0\n    z = np.zeros_like(x)\n    z[pos] = np.exp(-x[pos])\n"
     "    top = np.ones_like(x)\n    top[pos] = z[pos]\n    return np.sum(top / (1 + z))\n", dict(x=(3, 2))),
    ("def f(x):\n    c = x[:, 0]\n    return np.sum(np.maximum(0, x - c[:, np.newaxis] + 1.0))\n", dict(x=(3, 2))),
])
def test_indexed_updates_and_new_axes_match_sympy_diff_and_central_differences(src, shapes):
    report = check_arrays(stage_arrays(src, shapes=shapes), seed=5)
    assert report.ok and report.max_err_sympy is not None, report


def test_an_index_out_of_range_at_run_time_is_one_line():
    prog = stage_arrays("def f(x, y):\n    m = x * 2\n    m[np.arange(2), y] = 0\n    return np.sum(m)\n",
                        shapes=dict(x=(2, 1), y=(2,)))
    with pytest.raises(DeriveError, match="cannot run at these values: index 1 is out of bounds"):
        prog.run(x=np.ones((2, 1)), y=np.array([1, 0]))


@pytest.mark.parametrize("forward", ["lstm_step_forward", "lstm_step_forward_hsplit"])
def test_lstm_step_as_written_with_upstream_equals_the_hand_written_backward(forward):
    """The LSTM step returns (next_h, next_c, cache): derive differentiates next_h, the first item,
    with upstream dnext_h; the course's backward with dnext_c = 0 gives the same six gradients."""
    shapes = dict(x=(N, D), prev_h=(N, H), prev_c=(N, H), Wx=(D, 4 * H), Wh=(H, 4 * H), b=(4 * H,))
    prog = corpus("rnn_layers", forward, shapes)
    point = _point(shapes, seed=8)
    next_h, next_c, cache = reference("rnn_layers", forward)(**point)
    dnext_h = np.random.default_rng(9).normal(size=next_h.shape)
    result = prog.run(**point, upstream=dnext_h)
    np.testing.assert_allclose(result.value, next_h, rtol=1e-12)
    theirs = reference("rnn_layers", "lstm_step_backward")(dnext_h, np.zeros_like(next_c), cache)
    for p, value in zip(shapes, theirs):
        np.testing.assert_allclose(result.grad[p], value, rtol=1e-10, atol=1e-12, err_msg=f"d{p}")


def test_batchnorm_backward_prints_the_staged_derivation_steps():
    """The staged batchnorm's backward reads like the known derivation: dbeta and dgamma from
    sums over the batch, dxhat, the variance and mean branches, and += where x forks."""
    prog = corpus("layers", "batchnorm_forward_staged", dict(x=(N, D), gamma=(D,), beta=(D,)),
                  {"bn_param": {"eps": 1e-3}})
    text = prog.backward_code()
    targets = [ln.split("=")[0].split("+")[0].strip() for ln in text.splitlines() if "=" in ln]
    for name in ("dbeta", "dgamma", "dxhat", "divar", "dsqrtvar", "dvar", "dsq", "dxmu", "dmu", "dx"):
        assert name in targets, (name, text)
    assert any(ln.lstrip().startswith("dx +=") or ln.lstrip().startswith("dxmu +=")
               for ln in text.splitlines()), text
    order = [targets.index(n) for n in ("dbeta", "dxhat", "dvar", "dmu")]
    assert order == sorted(order), text


@pytest.mark.parametrize("call, fragment", [
    ("np.split(a, [1, 2], axis=1)", "with a constant number of equal parts k"),
    ("np.hsplit(a, k)", "with a constant number of equal parts k"),
    ("np.split(a, 2, axis=ax)", "with an axis that is not a constant"),
])
def test_splits_other_than_equal_parts_are_one_line(call, fragment):
    src = f"def f(a, k, ax):\n    p, q = {call}\n    return np.sum(p * q)\n"
    with pytest.raises(DeriveError, match=fragment) as err:
        stage_arrays(src, shapes=dict(a=(2, 4)), constants={"k": 2, "ax": 1}).run(a=np.ones((2, 4)))
    assert "\n" not in str(err.value)


def test_split_along_rows_and_columns_matches_central_differences():
    src = ("def f(a, w):\n    top, bottom = np.split(a, 2)\n    left, right = np.split(a, 2, axis=1)\n"
           "    return np.sum(np.tanh(top) * bottom * w) + np.sum(left * np.sin(right))\n")
    prog = stage_arrays(src, shapes=dict(a=(4, 6), w=(2, 6)))
    check = check_arrays(prog, seed=3)
    assert check.ok and check.max_err_sympy is not None, check


def test_cli_refuses_an_unequal_split_in_one_line(tmp_path):
    import subprocess
    import sys
    path = tmp_path / "f.py"
    path.write_text("import numpy as np\n\ndef f(a):\n    p, q = np.split(a, [1], axis=1)\n"
                    "    return np.sum(p * q)\n")
    r = subprocess.run([sys.executable, "-m", "derive", "stage", f"{path}:f", "--at", "a=[[1,2],[3,4]]"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    assert "constant number of equal parts" in r.stderr
