"""The Gradescope bundle run as Gradescope runs it: setup.sh, then run_autograder per submission.

A fresh bubblewrap container stands for the autograder image (see ``containers``): setup.sh
fetches uv from PyPI (uv's installer host is unreachable here), installs a standalone CPython
with ``uv python install`` (a local one, described to uv by a downloads JSON) and derive with its
dependencies from PyPI into its own venv; python3 on PATH is 3.10, as on Ubuntu 22.04. Every
results.json is checked against Gradescope's specification. Skipped without bwrap or PyPI.
"""
import json
import os
import subprocess
import sys
import time

import pytest

from tests.platforms import containers, spec
from tests.submissions import CORRECT, HOSTILE, WRONG

pytestmark = pytest.mark.slow
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DUE = "2026-12-01T17:00:00.000000-08:00"


def _meta(sid, created=DUE):
    return {"id": 1, "created_at": created, "assignment": {"due_date": DUE, "title": "staged"},
            "users": [{"email": f"{sid}@u.edu", "id": 7, "name": sid.title(), "sid": sid}]}


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    box = containers.bwrap()
    if box is None:
        pytest.skip("bubblewrap cannot make a container here")
    if not containers.online():
        pytest.skip("PyPI is not reachable (setup.sh installs uv and derive's dependencies from it)")
    scratch = str(tmp_path_factory.mktemp("gradescope"))
    bundle = os.path.join(scratch, "autograder.zip")
    r = subprocess.run([sys.executable, "-m", "derive", "gradescope", "staged_fxy", "-o", bundle,
                        "--late-penalty", "0.1"], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": ROOT})
    assert r.returncode == 0, r.stderr
    try:
        img = containers.Gradescope(scratch, bundle, box)
    except LookupError as err:  # no CPython 3.10 here to stand for Ubuntu 22.04's python3
        pytest.skip(str(err))
    start = time.monotonic()
    r = img.setup()
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    print(f"setup.sh: {time.monotonic() - start:.1f} s")
    assert "derive on Python 3.1" in r.stdout
    assert "taking uv's wheel from PyPI" in r.stderr or "installing to" in r.stdout  # either way
    return img


def _grade(image, files, meta, env=None):
    res, out = image.grade(files, meta, env=env)
    assert spec.gradescope(res) == [], (res, out)
    return res, out


def test_setup_installs_its_own_python_not_the_systems(image):
    venv = os.path.join(image.root, "derive-venv")
    with open(os.path.join(venv, "pyvenv.cfg")) as fh:
        cfg = fh.read()
    assert "/autograder/python/" in cfg  # uv's managed Python under /autograder, not python3 3.10
    assert os.path.exists(os.path.join(image.root, "uv", "uv"))


def test_correct_submission_full_marks_and_the_exercise_file_is_chosen(image):
    res, out = _grade(image, {"notes.py": "x = 1\n", "staged_fxy.py": CORRECT["staged_fxy"]}, _meta("ada1"))
    assert res["score"] == 3 and [t["status"] for t in res["tests"]] == ["passed"] * 3
    assert res["extra_data"]["student"] == "ada1" and res["stdout_visibility"] == "hidden"
    assert 0 < res["execution_time"] < 60 and "ada1: 3/3" in out


def test_wrong_submission_partial_credit_and_label(image):
    res, _ = _grade(image, {"staged_fxy.py": dict(WRONG["staged_fxy"])["fork-overwrite"]}, _meta("bo2"))
    assert 0 < res["score"] < 3 and "fork-overwrite" in res["output"]
    assert "failed" in [t["status"] for t in res["tests"]]


def test_late_submission_loses_the_penalty(image):
    res, _ = _grade(image, {"staged_fxy.py": CORRECT["staged_fxy"]},
                    _meta("cy3", created="2026-12-03T05:00:00.000000-08:00"))  # 1.5 days: 2 started days
    assert res["score"] == pytest.approx(3 - 2 * 0.1 * 3) and "2 day(s) late" in res["output"]


def test_no_python_file_is_a_zero_with_a_reason(image):
    res, _ = _grade(image, {"answer.txt": "42\n"}, _meta("dee4"))
    assert res["score"] == 0 and "No .py or .ipynb" in res["output"]


FORGE = '''import json
for path in ("/autograder/results/results.json", "/autograder/run_autograder"):
    try:
        with open(path, "w") as fh:
            fh.write(json.dumps({"score": 100}))
    except BaseException:
        pass
for path in ("/autograder/source/exercise/exercise.toml", "/autograder/submission_metadata.json"):
    try:
        print("READ", path, len(open(path).read()))
    except BaseException as err:
        print("refused", path)

def backward(x, y):
    return 0.0, 0.0
'''


def test_hostile_submissions_cannot_forge_results_or_read_the_grader(image):
    res, _ = _grade(image, {"staged_fxy.py": FORGE}, _meta("eve5"))
    assert res["score"] == 0 and "READ" not in res["output"] and "refused" in res["output"]
    with open(os.path.join(image.root, "run_autograder")) as fh:
        assert "derive.teach.grading.platforms" in fh.read()
    for name in ("crash", "memory_bomb", "forge_channel", "huge_output"):
        source, words = HOSTILE[name]
        res, _ = _grade(image, {"staged_fxy.py": source}, _meta(name))
        assert res["score"] == 0 and words in res["output"], (name, res["output"])
    assert json.loads(json.dumps(res)) == res


def test_where_the_container_is_the_only_isolation_results_are_still_the_graders(image):
    """DERIVE_ISOLATION=none (a platform image without Landlock): the submission's own write to
    results.json is replaced by the grader's, written after the submission's process is gone."""
    res, out = _grade(image, {"staged_fxy.py": FORGE}, _meta("mal6"), env={"DERIVE_ISOLATION": "none"})
    assert res["score"] == 0 and res["extra_data"]["isolation"].startswith("none: rlimits only")
    res, _ = _grade(image, {"staged_fxy.py": CORRECT["staged_fxy"]}, _meta("mal6"), env={"DERIVE_ISOLATION": "none"})
    assert res["score"] == 3
