"""Grading on the platforms classes use: Gradescope bundles and results, PrairieLearn results.

``derive gradescope EXERCISE -o autograder.zip`` builds a bundle with ``setup.sh`` (installs
the derive source shipped inside it) and ``run_autograder`` (grades the file in
``/autograder/submission`` and always writes ``/autograder/results/results.json``, also on an
internal error). ``python -m derive.platforms ROOT EXERCISE SEED`` is what it runs. The
submission runs in the same sandbox as under ``derive grade`` (see ``isolation``).
"""
from __future__ import annotations

import json
import os
import sys
import traceback
import zipfile

from derive.misconceptions import LABELS

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once when building the autograder image.
set -e
if ! command -v pip3 >/dev/null; then apt-get update && apt-get install -y python3 python3-pip; fi
pip3 install /autograder/source/derive_src
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission. It always leaves a results.json behind.
ROOT="${{DERIVE_AUTOGRADER_ROOT:-/autograder}}"
PY="${{DERIVE_PYTHON:-python3}}"
mkdir -p "$ROOT/results"
rm -f "$ROOT/results/results.json"
"$PY" -m derive.platforms "$ROOT" {exercise} {seed}
if [ ! -s "$ROOT/results/results.json" ]; then
  printf '%s\\n' '{{"score": 0, "output": "The autograder failed before grading (internal error); your submission was not graded. Please tell your instructor."}}' > "$ROOT/results/results.json"
fi
exit 0
"""


def gradescope_result(grade: dict) -> dict:
    """Gradescope's results.json for one graded submission."""
    out = [f"Score {grade['score']:g}/{grade['max_score']:g}."]
    out += [f"Misconception {m}: {LABELS[m]}" for m in grade["misconceptions"]]
    return {"score": grade["score"], "output": "\n".join(out),
            "tests": [{"name": t["name"], "score": t["score"], "max_score": t["max_score"],
                       "output": t["output"]} for t in grade["tests"]],
            "extra_data": {"misconceptions": grade["misconceptions"]}}


def prairielearn_result(grade: dict) -> dict:
    """PrairieLearn's external-grader results.json for one graded submission (score in [0, 1])."""
    frac = grade["score"] / grade["max_score"] if grade["max_score"] else 0.0
    msgs = [f"{m}: {LABELS[m]}" for m in grade["misconceptions"]]
    return {"gradable": True, "score": round(frac, 4), "message": "\n".join(msgs),
            "output": "", "tests": [{"name": t["name"], "description": t["name"],
                                     "points": t["score"], "max_points": t["max_score"],
                                     "message": t["output"], "output": ""} for t in grade["tests"]]}


FORMATS = {"gradescope": gradescope_result, "prairielearn": prairielearn_result}


def render(grades: list, fmt: str) -> str:
    """The file for ``--format``: one submission -> its object; several -> {path: object}."""
    if fmt == "json":
        return json.dumps(grades, indent=1) + "\n"
    conv = FORMATS[fmt]
    if len(grades) == 1:
        return json.dumps(conv(grades[0]), indent=1) + "\n"
    return json.dumps({g["submission"]: conv(g) for g in grades}, indent=1) + "\n"


def build_gradescope(exercise: str, out_path: str, seed: int = 0) -> list:
    """Write the Gradescope autograder zip; returns the names it contains."""
    pkg = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(pkg)
    names = []
    with zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in (("setup.sh", SETUP), ("run_autograder", RUN.format(exercise=exercise, seed=seed))):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            zf.writestr(info, text)
            names.append(name)
        for root, dirs, files in os.walk(pkg):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for f in sorted(files):
                if f.endswith((".py", ".json", ".txt", ".md", ".csv")) or "data" in root:
                    full = os.path.join(root, f)
                    arc = os.path.join("derive_src", os.path.relpath(full, repo))
                    zf.write(full, arc)
                    names.append(arc)
        for f in ("pyproject.toml", "README.md"):
            if os.path.exists(os.path.join(repo, f)):
                zf.write(os.path.join(repo, f), os.path.join("derive_src", f))
                names.append(os.path.join("derive_src", f))
    return names


def _submission(root: str, exercise: str):
    folder = os.path.join(root, "submission")
    files = [os.path.join(d, f) for d, _, names in os.walk(folder) for f in names
             if f.endswith((".py", ".ipynb")) and ".ipynb_checkpoints" not in d]
    if not files:
        return None
    files.sort(key=lambda f: (exercise not in os.path.basename(f), f.endswith(".ipynb"),
                              f.count(os.sep), f))
    return files[0]


def _student(root: str) -> str:
    try:
        with open(os.path.join(root, "submission_metadata.json"), encoding="utf-8") as fh:
            users = json.load(fh).get("users") or [{}]
        return str(users[0].get("email") or users[0].get("id") or "")
    except (OSError, ValueError, AttributeError, IndexError):
        return ""


def isolation():
    """The layer a platform container grades with: ``DERIVE_ISOLATION`` if set (strictly), else
    the strongest that works; where none does, the platform's own container is the isolation."""
    from derive.errors import DeriveError
    from derive.isolation import plan

    if os.environ.get("DERIVE_ISOLATION"):
        return plan(os.environ["DERIVE_ISOLATION"])
    try:
        return plan("auto")
    except DeriveError:
        return plan("none")


def run_autograder(root: str, exercise: str, seed: int = 0) -> dict:
    """Grade the submission under ``root`` and write ``root/results/results.json``."""
    from derive.exercises import get
    from derive.grading import grade_one
    from derive.sandbox import Limits

    out = os.path.join(root, "results", "results.json")
    try:
        ex = get(exercise)
        path = _submission(root, exercise)
        if path is None:
            result = {"score": 0, "output": "No .py or .ipynb file was submitted."}
        else:
            layer = isolation()
            grade = grade_one(ex, path, seed, Limits(isolation=layer.layer), student=_student(root))
            result = gradescope_result(grade.as_dict())
            result["extra_data"]["isolation"] = layer.description
    except Exception as err:  # always leave a results file
        result = {"score": 0, "output": f"Internal autograder error ({type(err).__name__}: {err}); "
                  "please tell your instructor.",
                  "extra_data": {"traceback": traceback.format_exc()[-2000:]}}
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=1)
    return result


if __name__ == "__main__":
    run_autograder(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
