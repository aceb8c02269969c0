"""The PrairieLearn course files run as PrairieLearn's external grader runs them.

``derive prairielearn`` writes serverFilesCourse/derive_grader and info.json; a fresh
bubblewrap container (no network, as ``enableNetworking`` is off by default) gets the /grade
layout (serverFilesCourse, student, data) and runs ``chmod +x ENTRYPOINT && ENTRYPOINT`` with
python3 from a venv first on PATH, as the ``prairielearn/grader-python`` image has. Every
results.json is checked against PrairieLearn's documented format. Skipped without bwrap.
"""
import json
import os
import subprocess
import sys

import pytest

from tests.platforms import containers, spec
from tests.submissions import CORRECT, HOSTILE, WRONG

pytestmark = pytest.mark.slow
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    box = containers.bwrap()
    if box is None:
        pytest.skip("bubblewrap cannot make a container here")
    scratch = str(tmp_path_factory.mktemp("prairielearn"))
    out = os.path.join(scratch, "course")
    r = subprocess.run([sys.executable, "-m", "derive", "prairielearn", "staged_fxy", "-o", out],
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ROOT})
    assert r.returncode == 0, r.stderr
    return box, out, scratch


def _grade(course, files):
    box, out, scratch = course
    res, log, size = containers.prairielearn_grade(box, out, files, scratch)
    assert spec.prairielearn(res, size) == [], (res, log)
    return res, log


def test_info_json_names_the_image_and_the_entrypoint_in_serverfilescourse(course):
    _, out, _ = course
    with open(os.path.join(out, "info.json")) as fh:
        opts = json.load(fh)["externalGradingOptions"]
    assert opts["image"] == "prairielearn/grader-python" and opts["enabled"] is True
    assert opts["serverFilesCourse"] == ["derive_grader/"]
    assert opts["entrypoint"] == "/grade/serverFilesCourse/derive_grader/run.sh" and opts["timeout"] <= 600


def test_correct_and_wrong_submissions(course):
    res, log = _grade(course, {"staged_fxy.py": CORRECT["staged_fxy"]})
    assert res["gradable"] is True and res["score"] == 1 and "3/3" in log
    assert [t["points"] for t in res["tests"]] == [1, 1, 1]
    res, _ = _grade(course, {"answer.py": dict(WRONG["staged_fxy"])["fork-overwrite"]})
    assert 0 < res["score"] < 1 and "fork-overwrite" in res["message"]


def test_unparsable_or_missing_file_is_not_gradable(course):
    res, _ = _grade(course, {"staged_fxy.py": HOSTILE["syntax_error"][0]})
    assert res["gradable"] is False and "syntax error on line 1" in res["format_errors"][0]
    res, _ = _grade(course, {})
    assert res["gradable"] is False and "No .py" in res["format_errors"][0]


FORGE = '''import json
try:
    import os
    os.makedirs("/grade/results", exist_ok=True)
    with open("/grade/results/results.json", "w") as fh:
        fh.write(json.dumps({"gradable": True, "score": 1.0}))
except BaseException:
    print("refused")

def backward(x, y):
    return 0.0, 0.0
'''


def test_hostile_submission_cannot_write_the_results_file(course):
    res, _ = _grade(course, {"staged_fxy.py": FORGE})
    assert res["gradable"] is True and res["score"] == 0 and "refused" in res["output"]
    res, _ = _grade(course, {"staged_fxy.py": HOSTILE["memory_bomb"][0]})
    assert res["score"] == 0 and "memory limit" in res["message"]
