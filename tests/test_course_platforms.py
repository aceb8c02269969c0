"""The nbgrader and otter-grader snippets of exercises/README.md, run by the tools themselves."""
import json
import os
import re
import subprocess
import sys

import pytest

from tests.submissions import CORRECT, WRONG

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _snippet(heading):
    with open(os.path.join(ROOT, "exercises", "README.md")) as fh:
        text = fh.read()
    part = text.split(heading, 1)[1]
    return re.search(r"```python\n(.*?)```", part, re.S).group(1)


def _env(tmp_path):
    return {**os.environ, "PYTHONPATH": ROOT, "HOME": str(tmp_path), "JUPYTER_PLATFORM_DIRS": "1"}


@pytest.mark.parametrize("solution,passes", [(CORRECT["staged_fxy"], True),
                                             (dict(WRONG["staged_fxy"])["sign"], False)])
def test_nbgrader_cell_validates(tmp_path, solution, passes):
    pytest.importorskip("nbgrader")
    nbformat = pytest.importorskip("nbformat")
    meta = {"nbgrader": {"grade": True, "grade_id": "test_staged_fxy", "points": 3, "locked": True,
                         "solution": False, "task": False, "schema_version": 3}}
    answer = {"nbgrader": {"grade": False, "grade_id": "answer", "locked": False, "solution": True,
                           "task": False, "schema_version": 3}}
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(solution, metadata=answer),
                nbformat.v4.new_code_cell(_snippet("## From an nbgrader test cell"), metadata=meta)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "staged_fxy.ipynb"
    nbformat.write(nb, str(path))
    r = subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(path)], cwd=tmp_path,
                       env=_env(tmp_path), capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    if passes:
        assert "Success! Your notebook passes all the tests." in out, out[-3000:]
    else:
        assert "VALIDATION FAILED ON 1 CELL" in out and "see the feedback above" in out, out[-3000:]


@pytest.mark.parametrize("solution,passes", [(CORRECT["staged_fxy"], True),
                                             (dict(WRONG["staged_fxy"])["fork-overwrite"], False)])
def test_otter_test_file_runs(tmp_path, solution, passes):
    ok_test = pytest.importorskip("otter.test_files.ok_test")
    path = tmp_path / "staged_fxy.py"
    path.write_text(_snippet("## From an otter-grader test"))
    env = {}
    exec(compile(solution, "<solution>", "exec"), env)
    tf = ok_test.OKTestFile.from_file(str(path))
    tf.run(env)
    assert all(r.passed for r in tf.test_case_results) is passes
    if not passes:
        assert "fork-overwrite" in tf.test_case_results[0].message
    assert json.loads(json.dumps(tf.name)) == "staged_fxy"
