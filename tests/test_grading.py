"""Batch grading: sandboxed submissions (correct, misconceptions, hostile), resume, CLI, platforms."""
import json
import os
import subprocess
import sys
import time
import zipfile

import pytest

from derive.cli import main as cli
from derive.teach import exercises
from derive.teach.grading import batch as grading
from derive.teach.feedback import Grade
from derive.teach.grading.sandbox import Limits
from tests.submissions import CORRECT, HOSTILE, SHAPE_ERROR, WRONG

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable
LIMITS = Limits(time=1.5, memory=256 * 2**20, output=2**20)
PWNED = "/tmp/derive-pwned.txt"


def _write(folder, name, text):
    path = os.path.join(folder, name)
    with open(path, "w") as fh:
        fh.write(text)
    return path


def _notebook(folder, name, exercise, solution):
    sys.path.insert(0, os.path.join(ROOT, "exercises"))
    try:
        import make_notebooks
    finally:
        sys.path.pop(0)
    nb = make_notebooks.notebook(exercise)
    nb["cells"][1]["source"] = solution.splitlines(True)
    nb["cells"].append({"cell_type": "code", "id": "x", "metadata": {}, "outputs": [],
                        "execution_count": 1, "source": ["%matplotlib inline\n", "backward(1.0, 2.0)\n",
                                                         "result = check('staged_fxy', backward)\n"]})
    return _write(folder, name, json.dumps(nb))


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    """Every exercise graded in one batch each: correct, misconception variants, hostile ones."""
    folder = str(tmp_path_factory.mktemp("subs"))
    if os.path.exists(PWNED):
        os.remove(PWNED)
    out = {}
    for name in exercises.EXERCISES:
        cases = [("correct", _write(folder, f"{name}_correct.py", CORRECT[name]))]
        cases += [(label, _write(folder, f"{name}_{label}.py", src)) for label, src in WRONG[name]]
        if name == "matmul":
            cases.append(("shape-error", _write(folder, "matmul_shape.py", SHAPE_ERROR)))
        if name == "staged_fxy":
            cases += [(h, _write(folder, f"h_{h}.py", src)) for h, (src, _) in HOSTILE.items()]
            cases.append(("notebook", _notebook(folder, "nb_correct.ipynb", name, CORRECT[name])))
            cases.append(("correct-last", _write(folder, "zz_correct.py", CORRECT[name])))
        grades = grading.grade_batch(exercises.get(name), [p for _, p in cases], seed=5, workers=2,
                                     limits=LIMITS, progress=False)
        out[name] = dict(zip([c for c, _ in cases], grades))
    return out


@pytest.mark.parametrize("name", list(exercises.EXERCISES))
def test_correct_submission_gets_full_marks(batches, name):
    g = batches[name]["correct"]
    assert g["score"] == g["max_score"] > 0 and g["misconceptions"] == []
    assert {"submission", "student", "exercise", "points", "score", "max_score", "tests",
            "misconceptions", "sha256", "seed"} <= set(g)
    assert g["exercise"] == name and g["student"] == f"{name}_correct" and len(g["points"]) == 3
    assert all({"name", "score", "max_score", "output"} <= set(t) for t in g["tests"])


@pytest.mark.parametrize("name,label", [(n, lab) for n, c in WRONG.items() for lab, _ in c])
def test_misconception_labelled_with_partial_marks(batches, name, label):
    g = batches[name][label]
    assert label in g["misconceptions"]
    assert g["score"] < g["max_score"]


@pytest.mark.parametrize("hostile", list(HOSTILE))
def test_hostile_submission_gets_zero_and_a_clear_message(batches, hostile):
    g = batches["staged_fxy"][hostile]
    words = HOSTILE[hostile][1]
    assert g["score"] == 0, g
    assert any(words in t["output"] for t in g["tests"]), g["tests"][0]["output"]


def test_batch_goes_on_after_hostile_submissions(batches):
    g = batches["staged_fxy"]
    assert g["correct-last"]["score"] == g["correct-last"]["max_score"]
    assert g["notebook"]["score"] == g["notebook"]["max_score"], g["notebook"]
    assert not os.path.exists(PWNED)


def test_shape_error_is_zero_with_transpose_label(batches):
    g = batches["matmul"]["shape-error"]
    assert g["score"] == 0 and g["misconceptions"] == ["transpose"]


def test_resume_skips_finished_submissions(tmp_path, monkeypatch):
    ex = exercises.get("staged_fxy")
    paths = [_write(str(tmp_path), f"s{i}.py", CORRECT["staged_fxy"] + f"# {i}\n") for i in range(5)]
    graded = []

    def fake(ex, path, seed=0, limits=None, student=None, student_seed=None):
        graded.append(path)
        return Grade(path, 1.0, 3.0, [{"name": "dx", "score": 1.0, "max_score": 1.0, "output": ""}])

    monkeypatch.setattr(grading, "grade_one", fake)
    journal = str(tmp_path / "out.json")
    grading.grade_batch(ex, paths, journal=journal, progress=False)
    assert sorted(graded) == sorted(paths)
    with open(journal) as fh:
        lines = fh.readlines()
    with open(journal, "w") as fh:  # as if killed after three results
        fh.writelines(lines[:3])
    done = {json.loads(ln)["submission"] for ln in lines[:3]}
    _write(str(tmp_path), "s4.py", "# changed since\n")
    graded.clear()
    results = grading.grade_batch(ex, paths, journal=journal, progress=False)
    assert set(graded) == set(paths) - done | {paths[4]}
    assert [r["submission"] for r in results] == paths


def _cli(*args, cwd=None):
    return subprocess.run([PY, "-m", "derive", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env={**os.environ, "PYTHONPATH": ROOT}, timeout=120)


def test_cli_json_in_order_and_writes_only_the_output(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    a = _write(str(subs), "ada.py", CORRECT["staged_fxy"])
    b = _write(str(subs), "bo.py", dict(WRONG["staged_fxy"])["fork-overwrite"])
    before = sorted(os.listdir(tmp_path)), sorted(os.listdir(subs))
    r = _cli("grade", "staged_fxy", b, a, "--json", "--seed", "3", "--quiet", cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [d["submission"] for d in data] == [b, a]
    assert data[0]["misconceptions"] == ["fork-overwrite"] and data[1]["score"] == 3.0
    assert (sorted(os.listdir(tmp_path)), sorted(os.listdir(subs))) == before
    out = tmp_path / "gs.json"
    r = _cli("grade", "staged_fxy", a, "--format", "gradescope", "-o", str(out), cwd=str(tmp_path))
    assert r.returncode == 0 and "grading [" in r.stderr
    gs = json.loads(out.read_text())
    assert gs["score"] == 3.0 and {t["name"] for t in gs["tests"]} == {"dx", "dy", "lines"}
    assert sorted(os.listdir(tmp_path)) == sorted(before[0] + ["gs.json"])
    pl = tmp_path / "pl"
    r = _cli("grade", "staged_fxy", a, b, "--format", "prairielearn", "-o", str(pl), "--quiet")
    res = {f: json.loads((pl / f).read_text()) for f in os.listdir(pl) if f != "journal.jsonl"}
    assert set(res) == {"ada.json", "bo.json"}  # one external-grader results file per submission
    assert res["ada.json"]["score"] == 1.0 and res["ada.json"]["gradable"] is True
    assert 0 < res["bo.json"]["score"] < 1 and "fork-overwrite" in res["bo.json"]["message"]


BAD = [
    (["grade", "nope", "x.py"], "unknown exercise 'nope'"),
    (["grade", "staged_fxy", "missing.py"], "no such file: missing.py"),
    (["grade", "staged_fxy", "exercises/staged_fxy/template.py", "--format", "gradescope"], "--format needs -o FILE"),
    (["grade", "staged_fxy", "exercises/staged_fxy/template.py", "--workers", "0"], "--workers must be"),
    (["gradescope", "staged_fxy", "-o", "bundle.tar"], "-o must name a .zip file"),
]


@pytest.mark.parametrize("args,msg", BAD[:2])
def test_cli_bad_input_one_line_exit_2(args, msg):
    r = _cli(*args)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and msg in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("args,msg", BAD[2:])
def test_cli_bad_options_one_line_exit_2(args, msg, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and msg in err


def test_gradescope_bundle_runs_locally(tmp_path):
    zpath = tmp_path / "autograder.zip"
    r = _cli("gradescope", "staged_fxy", "-o", str(zpath))
    assert r.returncode == 0, r.stderr
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zpath) as zf:
        names = zf.namelist()
        zf.extractall(root / "source")
    assert {"setup.sh", "run_autograder", "derive_src/pyproject.toml"} <= set(names)
    assert "derive_src/derive/teach/grading/sandbox_child.py" in names
    (root / "submission").mkdir()
    _write(str(root / "submission"), "staged_fxy.py", CORRECT["staged_fxy"])
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"email": "ada@uni.edu"}]}))
    env = {"PATH": os.environ["PATH"], "DERIVE_AUTOGRADER_ROOT": str(root), "DERIVE_PYTHON": PY,
           "PYTHONPATH": str(root / "source" / "derive_src")}
    run = ["bash", str(root / "source" / "run_autograder")]
    subprocess.run(run, env=env, check=True, timeout=120, capture_output=True)
    res = json.loads((root / "results" / "results.json").read_text())
    assert res["score"] == 3.0 and len(res["tests"]) == 3
    subprocess.run(run, env={**env, "DERIVE_PYTHON": "false"}, check=True, timeout=60, capture_output=True)
    res = json.loads((root / "results" / "results.json").read_text())
    assert res["score"] == 0 and "internal error" in res["output"]


def test_cli_resumes_after_a_kill_without_regrading(tmp_path):
    paths = [_write(str(tmp_path), f"s{i}.py", CORRECT["staged_fxy"] + "import time\ntime.sleep(0.4)\n")
             for i in range(3)]
    out = tmp_path / "out.json"
    cmd = [PY, "-m", "derive", "grade", "staged_fxy", *paths, "-o", str(out), "--workers", "1", "--quiet"]
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if proc.poll() is not None or out.exists() and out.read_text().count("\n") >= 1:
                break
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    lines = out.read_text().splitlines()
    assert 1 <= len(lines) < 3
    rec = json.loads(lines[0])
    rec["grade"]["score"] = 2.5  # a marker: a regraded submission would score 3
    out.write_text(json.dumps(rec) + "\n")
    r = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    scores = {g["submission"]: g["score"] for g in json.loads(out.read_text())}
    assert scores[rec["submission"]] == 2.5
    assert sorted(scores.values()) == [2.5, 3.0, 3.0]


def test_internal_error_on_one_file_is_that_files_zero_and_resume_goes_past(tmp_path, monkeypatch):
    ex = exercises.get("staged_fxy")
    paths = [_write(str(tmp_path), f"s{i}.py", CORRECT["staged_fxy"]) for i in range(3)]
    real = grading.assess

    def flaky(ex, points, report, submission="", source=None):
        if submission.endswith("s1.py"):
            raise KeyError("a grader bug")
        return real(ex, points, report, submission=submission, source=source)

    monkeypatch.setattr(grading, "assess", flaky)
    journal = str(tmp_path / "out.jsonl")
    grades = grading.grade_batch(ex, paths, journal=journal, limits=LIMITS, progress=False)
    assert [g["score"] for g in grades] == [3.0, 0.0, 3.0]
    assert "internal grading error (KeyError" in grades[1]["tests"][0]["output"]
    assert len(grading.read_journal(journal, "staged_fxy", 0)) == 3
    monkeypatch.setattr(grading, "grade_one", lambda *a, **k: pytest.fail("regraded"))
    again = grading.grade_batch(ex, paths, journal=journal, progress=False)
    assert [g["score"] for g in again] == [3.0, 0.0, 3.0]
