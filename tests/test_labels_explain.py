"""A misconception label appears only when it explains a wrong number: never on right answers."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NEURON = '''import math


def neuron(w0, w1, w2, x0, x1):
    dot = w0*x0 + w1*x1 + w2
    f = 1.0 / (1 + math.exp(-dot))
    return f
'''
HEAD = '''import math


def backward(w0, w1, w2, x0, x1):
    dot = w0*x0 + w1*x1 + w2
    f = 1.0 / (1 + math.exp(-dot))
'''
INLINED = HEAD + '''    print("debugging output is fine", f)
    ddot = (1 - f) * f
    return x0*ddot, x1*ddot, ddot, w0*ddot, w1*ddot
'''
SIGMOID_AS_S = HEAD + '''    ddot = f
    return x0*ddot, x1*ddot, ddot, w0*ddot, w1*ddot
'''


def _cli(*args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("labels")
    (tmp / "neuron.py").write_text(NEURON)
    r = _cli("exercise", "new", "neuron.py:neuron", "-o", "ex", "--at", "w0=2,w1=-3,w2=-3,x0=-1,x1=-2",
             cwd=tmp)
    assert r.returncode == 0, r.stderr
    for who, src in (("ada", INLINED), ("bo", SIGMOID_AS_S)):
        (tmp / f"{who}.py").write_text(src)
    r = _cli("grade", "ex", "ada.py", "bo.py", "--json", "--isolation", "auto", cwd=tmp)
    assert r.returncode == 0, r.stderr
    return {os.path.basename(g["submission"]): g for g in json.loads(r.stdout)}


def test_right_answers_written_inline_get_no_label(graded):
    ada = graded["ada.py"]
    outputs = [t for t in ada["tests"] if t["name"] != "lines"]
    assert outputs and all(t["score"] == t["max_score"] for t in outputs)
    assert ada["misconceptions"] == []


def test_a_real_mistake_is_still_named(graded):
    assert "sigmoid-local-gradient" in graded["bo.py"]["misconceptions"]
