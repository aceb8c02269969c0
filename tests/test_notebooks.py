"""The notebook course is complete and committed in a form nbval can check (nbval runs the cells).

These are static checks of the .ipynb files: nine notebooks in order, executed with outputs,
lesson numbers marked for comparison, nothing nondeterministic in the compared cells, and
each notebook ending with exercises and linking to the next one.
"""
import glob
import json
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "notebooks", "[0-9][0-9]-*.ipynb")))
MARK = "# NBVAL_CHECK_OUTPUT"
ADDRESS = re.compile(r"at 0x[0-9a-fA-F]{6,}")


def load(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def text(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_nine_notebooks_in_order():
    names = [os.path.basename(p) for p in NOTEBOOKS]
    assert [n[:2] for n in names] == [f"{k:02d}" for k in range(1, 10)], names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_committed_with_outputs_in_order(path):
    cells = code_cells(load(path))
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), "execute the notebook top to bottom before committing"
    assert all(c["outputs"] or text(c).lstrip().startswith(("import", "from")) or "def " in text(c)
               for c in cells if not text(c).startswith(MARK))
    errors = [o for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, errors[0].get("ename")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
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
