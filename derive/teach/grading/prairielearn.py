"""PrairieLearn external grading: results files in its format, and a course folder to copy in.

``derive grade EXERCISE subs/ --format prairielearn -o DIR`` writes ``DIR/<student>.json``,
one external-grader results file per submission (score in [0, 1], tests with points and
max_points, message, output). ``derive prairielearn EXERCISE -o DIR`` writes what a course
needs: ``serverFilesCourse/derive_grader/`` (the derive source, the exercise directory and the
entrypoint ``run.sh``) and ``info.json`` with the ``externalGradingOptions`` (image, entrypoint,
timeout). In the container, ``python -m derive.teach.grading.prairielearn /grade EXERCISE_DIR SEED`` grades
``/grade/student`` and always leaves ``/grade/results/results.json``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time

from derive.teach.misconceptions import LABELS
from derive.teach.exercises import get
from derive.teach.grading.platforms import package_dir
from derive.teach.grading.platforms import grade_in_container, write_results_file
from derive.teach.grading.platforms import pick_submission

#: The image line of info.json: PrairieLearn's Python grader image (its Python must be >= 3.11
#: and have numpy and sympy; check the image's Python version before the term starts).
IMAGE = "prairielearn/grader-python"
ENTRYPOINT = "/grade/serverFilesCourse/derive_grader/run.sh"
#: The grader's messages for a file that does not parse (PrairieLearn: not gradable).
UNPARSABLE = ("syntax error on line", "not a readable Jupyter notebook")

RUN = """#!/usr/bin/env bash
# PrairieLearn runs this in the grading container. It always leaves results.json behind.
HERE="$(cd "$(dirname "$0")" && pwd)"
mkdir -p /grade/results
PYTHONPATH="$HERE/derive_src" python3 -m derive.teach.grading.prairielearn /grade "$HERE/exercise" {seed}
if [ ! -s /grade/results/results.json ]; then
  printf '%s\\n' '{{"gradable": false, "format_errors": "The autograder failed before grading (internal error); please tell your instructor."}}' > /grade/results/results.json
fi
"""


def prairielearn_result(grade: dict, seconds: float | None = None) -> dict:
    """PrairieLearn's external-grader results for one graded submission: score in [0, 1],
    message, output and tests (name, description, points, max_points, message, output). A file
    that does not parse is ``gradable: false`` with ``format_errors`` (the attempt is not used
    up); a hidden test shows its points but not its message."""
    if grade["score"] == 0 and grade.get("message", "").startswith(UNPARSABLE):
        return {"gradable": False, "format_errors": [grade["message"]]}
    hidden = any(t.get("hidden") for t in grade["tests"])
    frac = grade["score"] / grade["max_score"] if grade["max_score"] else 0.0
    msgs = ([grade["message"]] if grade.get("message") and not hidden else []) + [
        f"{m}: {LABELS[m]}" for m in grade["misconceptions"]]
    res = {"gradable": True, "score": round(frac, 4), "message": "\n".join(msgs),
           "output": grade.get("output", ""),
           "tests": [{"name": t["name"], "description": t["name"], "points": t["score"],
                      "max_points": t["max_score"], "output": "",
                      "message": "hidden test: its feedback is not shown" if t.get("hidden") else t["output"]}
                     for t in grade["tests"]]}
    if seconds is not None:
        res["execution_time"] = round(seconds, 2)
    return res


def write_results(grades, folder) -> list:
    """``folder/<student>.json`` per submission (ids made file-safe; duplicates get -2, -3...)."""
    os.makedirs(folder, exist_ok=True)
    used, written = {}, []
    for g in grades:
        base = re.sub(r"[^\w.@-]", "_", g.get("student") or os.path.basename(g["submission"]))[:80]
        used[base] = used.get(base, 0) + 1
        path = os.path.join(folder, (base if used[base] == 1 else f"{base}-{used[base]}") + ".json")
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(prairielearn_result(g), fh, indent=1)
        written.append(path)
    return written


def build_course_files(exercise, out, seed: int = 0, timeout: int = 60) -> list:
    """Write ``out/serverFilesCourse/derive_grader`` and ``out/info.json``; the paths written."""

    ex = get(exercise)
    pkg = package_dir()
    grader = os.path.join(out, "serverFilesCourse", "derive_grader")
    if os.path.exists(grader):
        shutil.rmtree(grader)
    shutil.copytree(pkg, os.path.join(grader, "derive_src", "derive"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(ex.directory, os.path.join(grader, "exercise"),
                    ignore=shutil.ignore_patterns(".*", "__pycache__"))
    run = os.path.join(grader, "run.sh")
    with open(run, "w", encoding="utf-8") as fh:
        fh.write(RUN.format(seed=int(seed)))
    os.chmod(run, 0o755)
    info = {"uuid": "REPLACE-WITH-A-UUID", "title": ex.title, "topic": "Backpropagation",
            "gradingMethod": "External", "singleVariant": True,
            "externalGradingOptions": {"enabled": True, "image": IMAGE, "serverFilesCourse": ["derive_grader/"],
                                       "entrypoint": ENTRYPOINT, "timeout": int(timeout)}}
    with open(os.path.join(out, "info.json"), "w", encoding="utf-8") as fh:
        json.dump(info, fh, indent=2)
        fh.write("\n")
    return [run, os.path.join(out, "info.json")]


def grade_job(root: str, exercise: str, seed: int = 0) -> dict:
    """Grade ``root/student`` and write ``root/results/results.json`` (always)."""
    out = os.path.join(root, "results", "results.json")
    start = time.monotonic()
    try:
        ex = get(exercise)
        path = pick_submission(os.path.join(root, "student"), ex.name)
        if path is None:
            result = {"gradable": False, "format_errors": ["No .py or .ipynb file was submitted."]}
        else:
            grade, layer = grade_in_container(ex, path, seed, _student(root))  # as on Gradescope
            result = prairielearn_result(grade, time.monotonic() - start)
            print(f"{grade['score']:g}/{grade['max_score']:g} {grade['misconceptions']}; "
                  f"isolation: {layer.description}")
    except Exception as err:  # always leave a results file
        result = {"gradable": False, "format_errors": f"Internal autograder error ({type(err).__name__}: "
                  f"{err}); please tell your instructor."}
    return write_results_file(out, result)


def _student(root):
    """Whose values to use: the variant's seed from /grade/data/data.json (PrairieLearn passes
    the question's data object, which names no user), else ''."""
    try:
        with open(os.path.join(root, "data", "data.json"), encoding="utf-8") as fh:
            data = json.load(fh)
        return str(data.get("variant_seed") or "")
    except (OSError, ValueError, AttributeError):
        return ""


if __name__ == "__main__":
    grade_job(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
