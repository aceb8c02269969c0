"""The notebook course is complete and committed in a form nbval can check (nbval runs the cells).

These are static checks of the .ipynb files: the notebooks in order (01-09, then 11; 10 is kept
for loops), executed with outputs, lesson numbers marked for comparison, nothing nondeterministic
in the compared cells, each notebook ending with exercises and linking to the next one. Both
builds are checked: the learner's (notebooks/) and the solutions (notebooks/solutions/).
"""
import glob
import json
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "notebooks", "[0-9][0-9]-*.ipynb")))
SOLUTIONS = sorted(glob.glob(os.path.join(ROOT, "notebooks", "solutions", "[0-9][0-9]-*.ipynb")))
BOTH = NOTEBOOKS + SOLUTIONS
MARK = "# NBVAL_CHECK_OUTPUT"
ADDRESS = re.compile(r"at 0x[0-9a-fA-F]{6,}")


def load(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def text(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _id(path):
    return os.path.relpath(path, os.path.join(ROOT, "notebooks"))


def revealed(cell):
    """An answer cell of the learner's build: shipped without its output (run after predicting)."""
    return "reveal" in cell.get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("path", BOTH, ids=_id)
def test_answer_cells_ship_without_answers_to_learners(path):
    cells = code_cells(load(path))
    answers = [c for c in cells if revealed(c)]
    if "/solutions/" in path.replace(os.sep, "/"):
        assert not answers
    else:
        assert all(not c["outputs"] and not text(c).startswith(MARK) for c in answers)
        assert len(answers) == (0 if os.path.basename(path).startswith("11") else 1)


def test_notebooks_in_order():
    names = [os.path.basename(p) for p in NOTEBOOKS]
    assert [n[:2] for n in names] == [f"{k:02d}" for k in range(1, 12)], names
    assert [os.path.basename(p) for p in SOLUTIONS] == names, "a solutions build of every notebook"


@pytest.mark.parametrize("path", BOTH, ids=_id)
def test_committed_with_outputs_in_order(path):
    cells = code_cells(load(path))
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), "execute the notebook top to bottom before committing"
    assert all(c["outputs"] or text(c).lstrip().startswith(("import", "from")) or "def " in text(c)
               for c in cells if not text(c).startswith(MARK) and not revealed(c))
    errors = [o for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, errors[0].get("ename")


@pytest.mark.parametrize("path", BOTH, ids=_id)
def test_lesson_cells_are_checked_and_deterministic(path):
    cells = code_cells(load(path))
    checked = [c for c in cells if text(c).startswith(MARK)]
    assert len(checked) >= 3, "mark the cells whose printed numbers are the lesson"
    for c in checked:
        assert c["outputs"], text(c)
        src = text(c)
        assert "perf_counter" not in src and "time.time" not in src, "no timings in checked cells"
        dump = json.dumps(c["outputs"])
        assert not ADDRESS.search(dump), "a memory address in a checked cell"
        assert "image/png" not in dump, "plots are not compared: keep them out of checked cells"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_no_trailing_semicolons(path):
    for c in code_cells(load(path)):
        lines = [ln.rstrip() for ln in text(c).splitlines() if ln.strip() and not ln.strip().startswith("#")]
        assert not (lines and lines[-1].endswith(";")), text(c)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_prose_exercises_and_next_link(path):
    nb = load(path)
    md = [text(c) for c in nb["cells"] if c["cell_type"] == "markdown"]
    assert md[0].startswith("# "), "a title first"
    assert sum(len(m.split()) for m in md) > 600, "prose that teaches, not only code"
    assert any(re.search(r"^## Exercises", m, re.M) for m in md), "end with exercises"
    k = NOTEBOOKS.index(path)
    if k + 1 < len(NOTEBOOKS):
        assert os.path.basename(NOTEBOOKS[k + 1]) in "".join(md[-3:]), "link to the next notebook"


def graded_cells(nb):
    return [c for c in code_cells(nb) if "graded" in c.get("metadata", {}).get("tags", [])]


def output_text(cell):
    parts = []
    for o in cell["outputs"]:
        if o["output_type"] == "stream":
            parts.append("".join(o["text"]))
        elif "data" in o:
            parts.append("".join(o["data"].get("text/plain", "")))
    return "".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_learner_writes_at_least_three_graded_cells_not_attempted(path):
    graded = graded_cells(load(path))
    assert len(graded) >= 3, "at least three graded cells per notebook"
    for c in graded:
        src = text(c)
        assert "raise NotImplementedError" in src and "SOLUTION" not in src, src
        assert "not attempted" in output_text(c), (src, output_text(c))


@pytest.mark.parametrize("path", SOLUTIONS, ids=_id)
def test_solutions_score_full_marks(path):
    graded = graded_cells(load(path))
    assert len(graded) >= 3
    for c in graded:
        src = text(c)
        assert "raise NotImplementedError" not in src and "SOLUTION" not in src, src
        assert output_text(c).startswith(tuple(f"{k}/{k} - all correct" for k in range(1, 20))), \
            (src, output_text(c))


def _build():
    import importlib.util

    spec = importlib.util.spec_from_file_location("course_build", os.path.join(ROOT, "notebooks", "src", "build.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD = _build()


@pytest.mark.parametrize("source", BUILD.sources(), ids=os.path.basename)
@pytest.mark.parametrize("solution", [False, True], ids=["learner", "solutions"])
def test_generated_notebooks_are_up_to_date(source, solution):
    """Each committed .ipynb has the cells its source generates (run notebooks/src/build.py)."""
    path = BUILD.output_path(source, solution)
    assert os.path.exists(path), f"{_id(path)} missing: run python notebooks/src/build.py"
    committed = [(c["cell_type"], text(c), c.get("metadata", {}).get("tags", []))
                 for c in load(path)["cells"]]
    generated = [(c["cell_type"], c["source"], c.get("metadata", {}).get("tags", []))
                 for c in BUILD.cells(source, solution)]
    assert committed == generated, f"{_id(path)} is stale: run python notebooks/src/build.py"


def test_learner_text_drops_every_solution_block():
    src = "def f(x):\n    # given\n    # BEGIN SOLUTION\n    dx = 1\n    # END SOLUTION\n    return dx\n"
    assert BUILD.learner_text(src) == ("def f(x):\n    # given\n    # your code here\n"
                                       "    raise NotImplementedError\n    return dx\n")
    assert BUILD.solution_text(src) == "def f(x):\n    # given\n    dx = 1\n    return dx\n"
