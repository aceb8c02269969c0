"""The command line: output, formats, and every bad input -> exit 2, one line, no traceback."""
import json

import pytest

from tests.conftest import assert_one_line_error, run_cli

FXY = "(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)"


def test_stage_prints_the_notes_numbers():
    p = run_cli("stage", FXY, "--at", "x=3,y=-4")
    assert p.returncode == 0, p.stderr
    assert "df/dx = 2.059569795572165" in p.stdout
    assert "df/dy = 1.5922327514838093" in p.stdout
    assert "f = 1.5456448841066441" in p.stdout
    assert "dx += (sigx*(1 - sigx)) * dsigx" in p.stdout
    assert "gradients add" in p.stdout


def test_stage_json(tmp_path):
    src = tmp_path / "neuron.py"
    from derive.symbolic.examples import NEURON_CODE

    src.write_text(NEURON_CODE)
    p = run_cli("stage", f"{src}:neuron", "--at", "w=[2,-3,-3],x=[-1,-2]", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert set(out) == {"inputs", "forward", "backward", "seed", "value", "grad", "intermediates", "adjoints"}
    assert out["value"] == 0.7310585786300049
    assert out["grad"]["x"] == [0.3932238664829637, -0.5898357997244456]
    assert out["grad"]["w"] == [-0.19661193324148185, -0.3932238664829637, 0.19661193324148185]


@pytest.mark.parametrize("fmt, marker", [("python", "def f_and_grad(x, y):"),
                                         ("latex", "\\begin{aligned}"),
                                         ("markdown", "| # | forward | value |")])
def test_formats(fmt, marker):
    p = run_cli("stage", FXY, "--at", "x=3,y=-4", "--format", fmt)
    assert p.returncode == 0 and marker in p.stdout


def test_check_flag():
    p = run_cli("stage", "x * sin(y)", "--at", "x=1,y=2", "--check")
    assert p.returncode == 0 and "gradient check at 1 point(s): OK" in p.stdout


def test_demo_runs():
    p = run_cli("demo", "--quiet")
    assert p.returncode == 0, p.stderr
    assert "demo: all checks passed" in p.stdout
    assert p.stdout.count("matches the published numbers") == 4


def test_file_is_parsed_not_executed(tmp_path):
    marker = tmp_path / "ran"
    src = tmp_path / "evil.py"
    src.write_text(f"open({str(marker)!r}, 'w').write('x')\n\ndef f(x):\n    return x * x\n")
    p = run_cli("stage", f"{src}:f", "--at", "x=3")
    assert p.returncode == 0 and "df/dx = 6.0" in p.stdout
    assert not marker.exists()


BAD = [
    (["stage", "x +"], "syntax error"),
    (["stage", "foo(x) + 1"], "unknown function 'foo'"),
    (["stage", "x * y", "--at", "x=3"], "missing value for y"),
    (["stage", "x * y", "--at", "x=3,y=abc"], "must be a number"),
    (["stage", "x * y", "--at", "x=3;y=4"], "name=value"),
    (["stage", "x * y", "--at", "x=__import__('os')"], "must be a number"),
    (["stage", "log(x)", "--at", "x=-1"], "forward line (1)"),
    (["stage", "1/(x - 1)", "--at", "x=1"], "division by zero"),
    (["stage", "sqrt(x)", "--at", "x=0"], "backward line"),
    (["stage", "x", "--gates", "tiny"], "unknown --gates"),
    (["stage", "x", "--format", "pdf"], "unknown --format"),
    (["stage", "missing_file.py:f"], "no such file"),
    (["stage", "def f(x):\n    for i in x:\n        pass\n    return x"], "a for loop at line 2"),
    (["stage"], "required"),
    (["nonsense"], "invalid choice"),
    (["stage", "(" * 300 + "x" + ")" * 300], "syntax error"),
]


@pytest.mark.parametrize("args, fragment", BAD, ids=lambda a: " ".join(a)[:40] if isinstance(a, list) else a)
def test_bad_input_one_line_exit_2(args, fragment):
    p = run_cli(*args, timeout=10)
    assert_one_line_error(p, fragment)


def test_missing_function_in_file(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("def f(x):\n    return x\n")
    assert_one_line_error(run_cli("stage", f"{src}:g"), "no function named 'g'")
    src.write_text("def f(x):\n    while True:\n        pass\n")
    assert_one_line_error(run_cli("stage", f"{src}:f"), "a while loop at line 2")


LOSS = """import numpy as np

def loss(W1, b, W2, x, y):
    h = W1 @ x + b
    a = np.tanh(h)
    r = W2 @ a - y
    return 0.5 * np.sum(r ** 2)
"""
AT = "W1=[[1,2],[3,4],[5,6]],b=[1,2,3],W2=[[1,0,1],[0,1,0]],x=[0.1,0.2],y=[1,2]"


def test_stage_array_function(tmp_path):
    src = tmp_path / "loss.py"
    src.write_text(LOSS)
    p = run_cli("stage", f"{src}:loss", "--shapes", "W1=3x2,b=3,W2=2x3,x=2,y=2")
    assert p.returncode == 0, p.stderr
    assert "dW2 = np.outer(dW2a, a)" in p.stdout and "# (1) shape (3, 2)" in p.stdout
    p = run_cli("stage", f"{src}:loss", "--at", AT, "--json")
    out = json.loads(p.stdout)
    assert len(out["grad"]["W1"]) == 3 and len(out["grad"]["W1"][0]) == 2
    p = run_cli("stage", f"{src}:loss", "--at", AT, "--check")
    assert p.returncode == 0 and ": OK" in p.stdout


def test_array_bad_input(tmp_path):
    src = tmp_path / "loss.py"
    src.write_text(LOSS)
    assert_one_line_error(run_cli("stage", f"{src}:loss", "--shapes", "W1=3x2,b=4,W2=2x3,x=2,y=2"),
                          "shape error in forward line (2)", "(3,)", "(4,)")
    assert_one_line_error(run_cli("stage", f"{src}:loss", "--shapes", "W1=3by2"), "bad shape")
    assert_one_line_error(run_cli("stage", "x * y", "--shapes", "x=3"), "--shapes needs a function")
    src.write_text(LOSS.replace("np.tanh(h)", "np.linalg.inv(h)"))
    assert_one_line_error(run_cli("stage", f"{src}:loss"), "np.linalg.inv")
