"""A course run end to end: a new exercise from a function, a class folder, roster, gradebook,
pages, report, rerun by content hash, lateness, printing, and the platforms' files."""
import csv
import json
import os
import subprocess
import sys
import zipfile

import pytest

from derive.teach import course
from derive.teach import exercises
from tests.submissions import CORRECT, WRONG

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable

FUNC = '''import math


def loss(x, y, z):
    q = x * y
    s = math.sin(q) + z**3
    return s / (1 + z * z)
'''

RIGHT = '''import math


def backward(x, y, z):
    q = x * y
    s = math.sin(q) + z**3
    den = 1 + z * z
    out = s / den
    ds = 1 / den
    dden = -s / den**2
    dq = math.cos(q) * ds
    dz = 3 * z**2 * ds + 2 * z * dden
    dx = y * dq
    dy = x * dq
    print("debugging", dx)
    return dx, dy, dz
'''

NUMPY_FUNC = '''import numpy as np


def layer(W, x):
    h = np.tanh(W @ x)
    return np.sum(h * h)
'''

NUMPY_RIGHT = '''import numpy as np


def backward(W, x):
    h = np.tanh(W @ x)
    dh = 2 * h
    dz = (1 - h**2) * dh
    return np.outer(dz, x), W.T @ dz
'''


def _cli(*args, cwd=None):
    return subprocess.run([PY, "-m", "derive", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env={**os.environ, "PYTHONPATH": ROOT}, timeout=300)


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)
    return path


@pytest.fixture(scope="module")
def exdir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("course")
    src = _write(str(tmp / "mine.py"), FUNC)
    out = str(tmp / "my_ex")
    r = _cli("exercise", "new", f"{src}:loss", "-o", out, "--at", "x=1,y=2,z=0.5")
    assert r.returncode == 0, r.stderr
    return out


def test_new_exercise_directory_checks_and_is_data(exdir):
    assert sorted(os.listdir(exdir)) == ["README.md", "exercise.toml", "forward.py", "template.ipynb",
                                         "template.py"]
    r = _cli("exercise", "check", exdir)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "agrees with central differences" in r.stdout and "not attempted" in r.stdout
    ex = exercises.get(exdir)
    assert ex.outputs == ("dx", "dy", "dz") and ex.example == {"x": 1.0, "y": 2.0, "z": 0.5}
    ns = {}
    exec(RIGHT, ns)
    assert exercises.check(exdir, ns["backward"]).passed


def test_numpy_exercise_from_a_function(tmp_path):
    src = _write(str(tmp_path / "layer.py"), NUMPY_FUNC)
    out = str(tmp_path / "layer_ex")
    r = _cli("exercise", "new", f"{src}:layer", "-o", out, "--at", "W=[[1,0.5],[0,-1],[2,1]],x=[1,-2]")
    assert r.returncode == 0, r.stderr
    ex = exercises.get(out)
    assert ex.vector and [p.shape for p in ex.spec.params] == [(3, 2), (2,)]
    ns = {}
    exec(NUMPY_RIGHT, ns)
    g = exercises.check(out, ns["backward"])
    assert g.tests[0]["score"] == 1 and g.tests[1]["score"] == 1, g.text()
    r = _cli("exercise", "new", f"{src}:layer", "-o", str(tmp_path / "other"))
    assert r.returncode == 2 and "arrays fix the shapes" in r.stderr


@pytest.mark.parametrize("toml,msg", [
    ('name = "x"\n[function]\nname = "loss"\nkind = "cuda"\n', "function.kind must be one of"),
    ('name = "x"\n[function]\nname = "loss"\n[params.q]\nrange = [0, 1]\n', "[params.q] is not a parameter"),
    ('name = "x"\n[function]\nname = "loss"\n[params.x]\nrange = [2, 1]\n', "low must be below high"),
    ('name = "x"\n[function]\nname = "loss"\n[grading]\nreturns = ["dq"]\n', "dq is not d<differentiable"),
    ('name = "x"\n[function\n', "not valid TOML"),
    ('name = "x"\n[function]\nname = "loss"\n[grading]\nvariants = "nope"\n[example]\nx = 1\ny = 1\nz = 1\n',
     "known-wrong set"),
])
def test_bad_exercise_toml_is_one_line_exit_2(tmp_path, toml, msg):
    d = tmp_path / "bad"
    _write(str(d / "forward.py"), FUNC)
    _write(str(d / "exercise.toml"), toml)
    r = _cli("exercise", "check", str(d))
    assert r.returncode == 2 and msg in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_builtin_names_and_directories_are_the_same_exercise():
    assert exercises.get("staged_fxy") is exercises.get(os.path.join(ROOT, "exercises", "staged_fxy"))
    r = _cli("grade", "nope", "x.py")
    assert r.returncode == 2 and "unknown exercise 'nope'" in r.stderr


@pytest.fixture(scope="module")
def graded(tmp_path_factory, exdir):
    """A class folder as an LMS download: subs/<id>/<any name>.py; a roster; a duplicate."""
    tmp = tmp_path_factory.mktemp("class")
    subs = tmp / "subs"
    _write(str(subs / "ada" / "loss.py"), RIGHT)
    _write(str(subs / "bo" / "loss.py"), RIGHT.replace("dx = y * dq", "dx = x * dq"))
    _write(str(subs / "cy" / "attempt.py"), RIGHT.replace("return dx, dy, dz", "return dy, dx, dz"))
    _write(str(subs / "cy" / "attempt2.py"), RIGHT)
    _write(str(tmp / "roster.csv"), "id,name,email,seed\nada,Ada L,ada@u.edu,\nbo,Bo K,bo@u.edu,77\n"
           "cy,Cy D,cy@u.edu,\n")
    out = tmp / "results.json"
    args = ["grade", exdir, str(subs), "--roster", str(tmp / "roster.csv"), "-o", str(out),
            "--csv", str(tmp / "grades.csv"), "--html", str(tmp / "pages"), "--quiet"]
    r = _cli(*args)
    assert r.returncode == 0, r.stderr
    return tmp, args, r


def test_ids_from_folders_roster_names_and_points(graded, exdir):
    tmp, _, r = graded
    grades = json.loads((tmp / "results.json").read_text())
    by = {g["submission"].split(os.sep)[-2] + "/" + os.path.basename(g["submission"]): g for g in grades}
    ada, bo = by["ada/loss.py"], by["bo/loss.py"]
    assert ada["student"] == "ada" and ada["name"] == "Ada L" and ada["exercise"] == "loss"
    assert ada["score"] == ada["max_score"] == 4.0
    ex = exercises.get(exdir)
    assert ada["points"] == ex.points(0, "ada") and bo["points"] == ex.points(0, "bo", 77)
    assert ada["points"] != bo["points"]
    assert "multiply-swap" in bo["misconceptions"] and bo["score"] < 4
    cys = [g for k, g in by.items() if k.startswith("cy/")]
    assert len(cys) == 2 and all(any("duplicate id cy" in f for f in g["flags"]) for g in cys)
    assert "duplicate id cy" in r.stdout


def test_gradebook_pages_and_class_report(graded):
    tmp, _, _ = graded
    with open(tmp / "grades.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:8] == ["id", "name", "score", "max", "dx", "dy", "dz", "lines"]
    assert {r["id"] for r in rows} == {"ada", "bo", "cy"}
    pages = sorted(os.listdir(tmp / "pages"))
    assert pages == ["ada.html", "bo.html", "cy-2.html", "cy.html"]
    page = (tmp / "pages" / "bo.html").read_text()
    assert "Your points" in page and "multiply-swap" in page and "<td>dx</td>" in page
    r = _cli("report", str(tmp / "results.json"), "-o", str(tmp / "report.html"))
    assert r.returncode == 0, r.stderr
    html = (tmp / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "multiply-swap" in html
    assert "Bo K" not in html and "bo/loss.py" not in html


def test_rerun_grades_only_changed_files_and_regrade_forces_all(graded):
    tmp, args, _ = graded
    first = {g["submission"]: g for g in json.loads((tmp / "results.json").read_text())}
    changed = str(tmp / "subs" / "bo" / "loss.py")
    _write(changed, RIGHT)
    marker = dict(first)
    data = [dict(g, score=g["score"] if g["submission"] == changed else -1.0, raw_score=-1.0
                 if g["submission"] != changed else g["raw_score"]) for g in first.values()]
    (tmp / "results.json").write_text(json.dumps(data))
    r = _cli(*args)
    assert r.returncode == 0, r.stderr
    again = {g["submission"]: g for g in json.loads((tmp / "results.json").read_text())}
    assert again[changed]["score"] == 4.0  # changed: regraded
    assert all(again[p]["score"] == -1.0 for p in marker if p != changed)  # reused as they were
    r = _cli(*args, "--regrade")
    regraded = json.loads((tmp / "results.json").read_text())
    assert all(g["score"] >= 0 for g in regraded)


def test_late_penalty_from_the_deadline():
    sub = course.Submission("a.py", "ada", deadline=course.parse_time("2026-01-01T00:00"),
                            submitted=course.parse_time("2026-01-02T06:00"))
    g = course.annotate({"score": 4.0, "max_score": 4.0}, sub, 0.1)
    assert (g["late_days"], g["late_penalty"], g["score"], g["raw_score"]) == (2, 0.8, 3.2, 4.0)
    assert course.annotate(g, sub, 0.1)["score"] == 3.2  # a reused result is not cut twice


def test_ids_from_file_names_when_all_in_one_folder():
    assert course.ids_from(["subs/ada.py", "subs/bo.ipynb"]) == ["ada", "bo"]
    assert course.ids_from(["subs/ada/x.py", "subs/bo/x.py"]) == ["ada", "bo"]
    assert course.ids_from(["subs/ada/x.py"], "folder") == ["ada"]


def test_gradescope_results_fields_and_bundle_ships_the_exercise(tmp_path, exdir):
    from derive.teach.grading.platforms import gradescope_result

    g = exercises.check("staged_fxy", _fn(CORRECT["staged_fxy"])).as_dict()
    g["tests"][2]["hidden"] = True
    res = gradescope_result(g, 1.25)
    assert res["visibility"] == "visible" and res["stdout_visibility"] == "visible"
    assert res["execution_time"] == 1.25
    assert [t["visibility"] for t in res["tests"]] == ["visible", "visible", "after_published"]
    z = tmp_path / "b.zip"
    r = _cli("gradescope", exdir, "-o", str(z))
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(z) as zf:
        names, setup = zf.namelist(), zf.read("setup.sh").decode()
    assert "exercise/exercise.toml" in names and "exercise/forward.py" in names
    assert "uv\" python install 3.12" in setup and "-m venv" in setup and "pip3 install" not in setup


def test_gradescope_setup_makes_its_own_venv(tmp_path):
    """setup.sh with a given Python >= 3.11 (no network here, so pip only shows it works; the
    install itself is untested here): its own venv, and a refusal of an old Python."""
    from derive.teach.grading.platforms import SETUP

    root = tmp_path / "ag"
    (root / "source").mkdir(parents=True)
    os.symlink(ROOT, root / "source" / "derive_src")
    script = root / "setup.sh"
    offline = SETUP.replace('-m pip install --quiet "$ROOT/source/derive_src"', '-m pip --version')
    offline = offline.replace("-c 'import derive'", "-c 'import sys; assert sys.prefix.endswith(\"derive-venv\")'")
    assert offline != SETUP
    script.write_text(offline)
    env = {"PATH": os.environ["PATH"], "DERIVE_AUTOGRADER_ROOT": str(root), "DERIVE_PYTHON": PY}
    r = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (root / "derive-venv" / "bin" / "python").exists()
    fake = tmp_path / "python3.10"
    fake.write_text("#!/bin/sh\nexec %s -c 'import sys; sys.exit(1)'\n" % PY)
    fake.chmod(0o755)
    old = subprocess.run(["bash", str(script)], env={**env, "DERIVE_PYTHON": str(fake)},
                         capture_output=True, text=True, timeout=60)
    assert old.returncode != 0


def test_prairielearn_course_files_and_job(tmp_path):
    r = _cli("prairielearn", "staged_fxy", "-o", str(tmp_path / "pl"))
    assert r.returncode == 0, r.stderr
    info = json.loads((tmp_path / "pl" / "info.json").read_text())
    opts = info["externalGradingOptions"]
    assert opts["image"] == "prairielearn/grader-python" and opts["entrypoint"].endswith("run.sh")
    grader = tmp_path / "pl" / "serverFilesCourse" / "derive_grader"
    assert (grader / "exercise" / "exercise.toml").exists() and os.access(grader / "run.sh", os.X_OK)
    job = tmp_path / "job"
    _write(str(job / "student" / "answer.py"), dict(WRONG["staged_fxy"])["fork-overwrite"])
    r = subprocess.run([PY, "-m", "derive.teach.grading.prairielearn", str(job), str(grader / "exercise"), "0"],
                       env={**os.environ, "PYTHONPATH": str(grader / "derive_src")},
                       capture_output=True, text=True, timeout=120)
    res = json.loads((job / "results" / "results.json").read_text())
    assert res["gradable"] is True and 0 < res["score"] < 1 and "fork-overwrite" in res["message"]
    assert {t["name"] for t in res["tests"]} == {"dx", "dy", "lines"}


def _fn(source):
    ns = {}
    exec(compile(source, "<submission>", "exec"), ns)
    return ns["backward"]


def test_sheet_of_an_exercise_directory_at_a_students_values(tmp_path, exdir):
    out = tmp_path / "ada.pdf"
    r = _cli("sheet", "--exercise", exdir, "--student", "ada", "-o", str(out))
    assert r.returncode == 0 and out.read_bytes().startswith(b"%PDF"), r.stderr
    r = _cli("sheet", "--exercise", "activations", "-o", str(out))
    assert r.returncode == 2 and "one expression per output" in r.stderr


def test_sheets_per_roster_student_carry_name_and_graded_values(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    roster = _write(str(tmp_path / "roster.csv"), "id,name,email,seed\nada,Ada L,a@u.edu,\nbo,Bo K,b@u.edu,9\n")
    r = _cli("sheet", "--exercise", "staged_fxy", "--roster", roster, "-o", str(tmp_path / "s.pdf"))
    assert r.returncode == 0, r.stderr
    ex = exercises.get("staged_fxy")
    for sid, name, seed in (("ada", "Ada L", None), ("bo", "Bo K", 9)):
        text = pypdf.PdfReader(str(tmp_path / f"s-{sid}.pdf")).pages[0].extract_text()
        point = ex.points(0, sid, seed)[0]
        assert f"Name: {name}" in text and f"(id {sid})" in text, text[:800]
        assert f"x = {point['x']:g}" in text and f"y = {point['y']:g}" in text, text[:800]
    r = _cli("sheet", "--roster", roster, "-o", str(tmp_path / "s.pdf"))
    assert r.returncode == 2 and "give a function or expression to print, or --exercise" in r.stderr


def test_new_exercise_stubs_helpers_the_forward_pass_calls(tmp_path):
    out = str(tmp_path / "tl")
    r = _cli("exercise", "new", os.path.join(ROOT, "exercises", "two_layer", "forward.py") + ":two_layer",
             "-o", out, "--at", "W1=[[0.5,-1,0],[1,0.5,-0.5]],b=[0.1,-0.2],W2=[[1,-1]],x=[1,-2,0.5],y=[0.5]")
    assert r.returncode == 0, r.stderr
    with open(os.path.join(out, "template.py")) as fh:
        assert 'def sigmoid(z):  # used by the forward pass: write it' in fh.read()
    r = _cli("exercise", "check", out)
    assert r.returncode == 0 and "not attempted" in r.stdout, r.stdout + r.stderr
