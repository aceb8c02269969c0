"""Every definition the course states twice comes from one source: notebooks, exercises and README agree.

The learner meets the same thing in several places (a notebook's prose and answer cells, a graded
exercise, the README); these tests fail when one copy drifts: the leaky ReLU, the names a graded
cell's given forward pass uses, the iris step count and accuracy, the notebook list.
"""
import ast
import glob
import inspect
import json
import os
import re

import pytest

from derive.exercises import get
from derive.teach.iris import train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "notebooks", "src")
SOURCES = sorted(glob.glob(os.path.join(SRC, "[0-9][0-9]_*.py")))
README = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
CHECK = re.compile(r'check_exercise\("([^"]+)", backward\)')


def read(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def notebook(name):
    with open(os.path.join(ROOT, "notebooks", name), encoding="utf-8") as fh:
        return json.load(fh)


def graded_sources():
    """(notebook source, exercise name, cell text) of every graded cell in the sources."""
    out = []
    for path in SOURCES:
        tree = ast.parse(read(path))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "graded"
                    and isinstance(node.args[0], ast.Constant)):
                text = node.args[0].value
                m = CHECK.search(text)
                assert m, f"{os.path.basename(path)}: a graded cell must end with check_exercise(...)"
                out.append((os.path.basename(path), m[1], text))
    return out


GRADED = graded_sources()


def _exercise(name):
    # notebook exercises are named by a path relative to notebooks/
    return get(os.path.join(ROOT, "notebooks", name) if name.startswith("exercises/") else name)


def _assigned(text):
    """Names assigned in the given part of ``function`` (the lines before the solution block)."""
    given = text.split("# BEGIN SOLUTION")[0]
    names = set()
    for line in given.splitlines():
        m = re.match(r"\s+([A-Za-z_][A-Za-z_0-9]*)\s*(=|\+=)", line)
        if m:
            names.add(m[1])
    return names


def test_every_notebook_source_has_graded_cells():
    per = {}
    for src, _, _ in GRADED:
        per[src] = per.get(src, 0) + 1
    assert sorted(per) == [os.path.basename(p) for p in SOURCES]
    assert min(per.values()) >= 3, per


@pytest.mark.parametrize("src,name,text", GRADED, ids=[f"{s[:2]}-{n}" for s, n, _ in GRADED])
def test_graded_cell_uses_the_exercise_names(src, name, text):
    """A graded cell's given forward pass assigns the names of the exercise's own forward function,
    so the checker's line-by-line feedback speaks of the names the learner sees."""
    ex = _exercise(name)
    if not ex.has_lines or ex.has_loops:
        return  # graded by its returned values only, or a loop compared step by step under the learner's names
    wanted = ex.template_names
    given = _assigned(text)
    assert wanted <= given, f"{src}: the cell for {name} lacks {sorted(wanted - given)} (it has {sorted(given)})"
    assert f"return {', '.join(ex.outputs)}" in text, f"{src}: {name} returns ({', '.join(ex.outputs)})"


def test_leaky_relu_has_one_definition():
    """Notebook 3 reads the leaky ReLU from the activations exercise; nothing else defines another."""
    leaky = get("activations").spec.per_output["dleaky"]
    assert leaky == "max(x, -0.1*x)"  # the discussion sheet's definition
    src = read(os.path.join(SRC, "03_sigmoid_neuron.py"))
    assert 'get_exercise("activations").spec.per_output["dleaky"]' in src
    cell = next(c for c in notebook("03-sigmoid-neuron.ipynb")["cells"]
                if "LEAKY = get_exercise" in "".join(c["source"]))
    assert leaky in "".join(cell["outputs"][0]["text"])
    for path in SOURCES + glob.glob(os.path.join(ROOT, "exercises", "activations", "*")):
        text = read(path) if path.endswith((".py", ".md", ".toml")) else ""
        other = re.findall(r"max\(\s*[a-z]\s*,\s*0\.1\s*\*?\s*[a-z]\s*\)", text)
        assert not other, f"{os.path.basename(path)} defines the leaky ReLU differently: {other}"


def test_two_layer_names_come_from_the_exercise_file():
    """Notebooks 7 and 8 stage the sheet's two-layer loss from the exercise's forward.py (z1, a, z2, r)."""
    for name in ("07_vector_chain_rule.py", "08_network_end_to_end.py"):
        src = read(os.path.join(SRC, name))
        assert 'get_exercise("two_layer").spec.source' in src, name
        assert not re.search(r"\bx4 = x3 - y\b", src), f"{name} renames the exercise's lines"


def test_iris_steps_and_accuracy_agree():
    """README, notebook 8 and derive.iris.train() state the same run."""
    defaults = inspect.signature(train).parameters
    rate, steps = defaults["rate"].default, defaults["steps"].default
    src = read(os.path.join(SRC, "08_network_end_to_end.py"))
    assert f"rate, steps = {rate}, {steps}" in src
    m = re.search(r"([0-9.]+)% training accuracy after (\d+) steps \(16 hidden units, rate ([0-9.]+)", README)
    assert m, "README states the iris run"
    assert (int(m[2]), float(m[3])) == (steps, rate)
    out = json.dumps(notebook("08-network-end-to-end.ipynb"))
    assert f"training accuracy: {m[1]}%" in out and f"after {steps} steps" in out


def test_readme_lists_every_notebook_in_order():
    names = [os.path.basename(p)[:-3].replace("_", "-") for p in SOURCES]
    listed = re.findall(r"^\d+\. `(\d\d-[a-z-]+)`", README, re.M)
    assert listed == names
    assert 'pip install -e ".[notebooks]"' in README


def test_notebook_extra_installs_what_the_notebooks_need():
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        extras = tomllib.load(fh)["project"]["optional-dependencies"]
    names = {re.split(r"[<>=!~ \[;]", d)[0].lower() for d in extras["notebooks"]}
    assert {"jupyterlab", "nbconvert", "ipykernel", "nbclient", "nbformat"} <= names


def test_seventh_notebook_counts_lines_from_the_printed_program():
    src = read(os.path.join(SRC, "07_vector_chain_rule.py"))
    assert "13 lines" not in src
    assert 'row["vector_lines"] = len(vec.forward) + len(vec.backward)' in src
