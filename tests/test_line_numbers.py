"""A line number in a message means the same line in the CLI and in Python (a notebook cell):
the line of the file (or cell), not of the function."""
import importlib.util
import subprocess
import sys

import pytest

import derive

SOURCE = '''import numpy as np


def scalar(x, y):
    z = x * y
    with open("data.txt") as fh:
        z = z * x
    return z


def vector(W, x):
    s = W @ x
    s = s + print(s)
    return np.sum(s)
'''


@pytest.fixture(scope="module")
def module(tmp_path_factory):
    path = tmp_path_factory.mktemp("src") / "learner.py"
    path.write_text(SOURCE)
    spec = importlib.util.spec_from_file_location("learner_lines", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return path, mod


@pytest.mark.parametrize("name, line", [("scalar", 6), ("vector", 13)])
def test_api_and_cli_name_the_same_line(module, name, line):
    path, mod = module
    with pytest.raises(derive.DeriveError) as err:
        derive.stage(getattr(mod, name), shapes={"W": (2, 2), "x": (2,)} if name == "vector" else None)
    cli = subprocess.run([sys.executable, "-m", "derive", "stage", f"{path}:{name}"]
                         + (["--shapes", "W=2x2,x=2"] if name == "vector" else []),
                         capture_output=True, text=True)
    assert cli.returncode == 2
    assert f"line {line}" in str(err.value) and f"line {line}" in cli.stderr
    assert SOURCE.splitlines()[line - 1].strip().split()[0] in ("with", "s")
