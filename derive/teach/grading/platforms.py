"""Grading on the platforms classes use: Gradescope bundles and results, PrairieLearn results.

``derive gradescope EXERCISE -o autograder.zip`` builds a bundle with ``setup.sh`` (installs
its own Python >= 3.11 with uv's standalone builds, a venv, and the derive source shipped
inside it), the exercise directory, and ``run_autograder`` (grades the file in
``/autograder/submission`` and always writes ``/autograder/results/results.json``, also on an
internal error). ``python -m derive.teach.grading.platforms ROOT EXERCISE SEED`` is what it runs. The
submission runs in the same sandbox as under ``derive grade`` (see ``isolation``).
"""
from __future__ import annotations

import json
import os
import sys
import traceback
import zipfile

from derive.teach.misconceptions import LABELS
from derive.teach.exercises import get
from derive.teach.course import apply_late
from derive.teach.course import parse_time
from derive.core.errors import DeriveError
from derive.teach.grading.isolation import plan
from derive.teach.grading.batch import grade_one

SETUP = r"""#!/usr/bin/env bash
# Gradescope runs this once (as root, with network) when building the autograder image.
# derive needs Python >= 3.11: Ubuntu 22.04 images have 3.10, and PEP 668 blocks system pip on
# 24.04, so this installs uv, its own Python (uv's standalone build) and a venv of its own.
set -euo pipefail
ROOT="${DERIVE_AUTOGRADER_ROOT:-/autograder}"
VERSION="${DERIVE_PYTHON_VERSION:-3.12}"
PY="${DERIVE_PYTHON:-}"
VENV="$ROOT/derive-venv"
UV="$ROOT/uv/uv"

get_uv() {  # uv's installer; else uv's wheel from PyPI, unpacked by the system python3 (no pip)
  mkdir -p "$ROOT/uv"
  if ! command -v curl >/dev/null && ! command -v python3 >/dev/null; then
    apt-get update && apt-get install -y curl ca-certificates
  fi
  if command -v curl >/dev/null && curl -LsSf https://astral.sh/uv/install.sh -o "$ROOT/uv/install.sh" \
      && UV_INSTALL_DIR="$ROOT/uv" INSTALLER_NO_MODIFY_PATH=1 sh "$ROOT/uv/install.sh"; then
    return 0
  fi
  echo "uv's installer failed; taking uv's wheel from PyPI" >&2
  python3 - "$ROOT/uv" <<'EOF'
import hashlib, io, json, os, platform, sys, urllib.parse, urllib.request, zipfile
index = "https://pypi.org/pypi/uv/json"
arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine().lower())
with urllib.request.urlopen(index, timeout=120) as r:
    wheel = next(f for f in json.load(r)["urls"] if f["filename"].endswith(arch + ".whl")
                 and "manylinux" in f["filename"])
with urllib.request.urlopen(urllib.parse.urljoin(index, wheel["url"]), timeout=600) as r:
    data = r.read()
if hashlib.sha256(data).hexdigest() != wheel["digests"]["sha256"]:
    sys.exit("uv's wheel does not match PyPI's checksum")
with zipfile.ZipFile(io.BytesIO(data)) as z:
    exe = os.path.join(sys.argv[1], "uv")
    with open(exe, "wb") as fh:
        fh.write(z.read(next(n for n in z.namelist() if n.endswith(".data/scripts/uv"))))
os.chmod(exe, 0o755)
EOF
}

if [ -n "$PY" ]; then  # a given interpreter: the standard library's venv and pip
  "$PY" -c 'import sys; assert sys.version_info >= (3, 11), "derive needs Python >= 3.11"'
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet "$ROOT/source/derive_src"
else
  [ -x "$UV" ] || get_uv
  export UV_PYTHON_INSTALL_DIR="$ROOT/python" UV_PYTHON_PREFERENCE=only-managed UV_NO_CACHE=1 UV_LINK_MODE=copy
  "$UV" python install "$VERSION"
  "$UV" venv --python "$VERSION" "$VENV"
  "$UV" pip install --python "$VENV/bin/python" "$ROOT/source/derive_src"
fi
"$VENV/bin/python" -c 'import sys, derive; assert sys.version_info >= (3, 11); print("derive on Python", sys.version.split()[0])'
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission. It always leaves a results.json behind.
export DERIVE_STARTED="$(date +%s.%N)"
ROOT="${{DERIVE_AUTOGRADER_ROOT:-/autograder}}"
PY="${{DERIVE_PYTHON:-$ROOT/derive-venv/bin/python}}"
export DERIVE_LATE_PENALTY="${{DERIVE_LATE_PENALTY:-{penalty}}}"
mkdir -p "$ROOT/results"
rm -f "$ROOT/results/results.json"
"$PY" -m derive.teach.grading.platforms "$ROOT" "$ROOT/source/exercise" {seed}
if [ ! -s "$ROOT/results/results.json" ]; then
  printf '%s\\n' '{{"score": 0, "output": "The autograder failed before grading (internal error); your submission was not graded. Please tell your instructor."}}' > "$ROOT/results/results.json"
fi
exit 0
"""


def gradescope_result(grade: dict, seconds: float | None = None) -> dict:
    """Gradescope's results.json for one graded submission (its autograder specification:
    score, output, visibility, stdout_visibility, execution_time, tests with score, max_score,
    status, output and visibility; hidden tests are ``after_published``)."""
    hidden = any(t.get("hidden") for t in grade["tests"])
    out = [f"Score {grade['score']:g}/{grade['max_score']:g}."]
    if grade.get("message") and not hidden:
        out.append(grade["message"])  # (with hidden tests it may speak of them: left out)
    out += [f"Misconception {m}: {LABELS[m]}" for m in grade["misconceptions"]]
    if grade.get("late_days"):
        out.append(f"Submitted {grade['late_days']} day(s) late: {grade['late_penalty']:g} points off.")
    if grade.get("output"):
        out.append("Your printed output (first lines):\n" + grade["output"])
    res = {"score": grade["score"], "output": "\n".join(out), "visibility": "visible",
           # run_autograder's stdout is for the instructor (a one-line summary); feedback is in output
           "stdout_visibility": "hidden",
           "tests": [{"name": t["name"], "score": t["score"], "max_score": t["max_score"],
                      "status": "passed" if t["score"] >= t["max_score"] else "failed",
                      "output": t["output"],
                      "visibility": "after_published" if t.get("hidden") else "visible"}
                     for t in grade["tests"]],
           "extra_data": {"misconceptions": grade["misconceptions"], "student": grade.get("student", ""),
                          "points": grade.get("points", [])}}
    if seconds is not None:
        res["execution_time"] = round(seconds, 2)
    return res


def render(grades: list, fmt: str) -> str:
    """The file for ``--format``: json -> the array of grades; gradescope -> one submission's
    results.json (several -> {path: object}). PrairieLearn: ``derive.teach.grading.prairielearn``."""
    if fmt == "json":
        return json.dumps(grades, indent=1) + "\n"
    if len(grades) == 1:
        return json.dumps(gradescope_result(grades[0]), indent=1) + "\n"
    return json.dumps({g["submission"]: gradescope_result(g) for g in grades}, indent=1) + "\n"



def build_gradescope(exercise: str, out_path: str, seed: int = 0, late_penalty: float = 0.0) -> list:
    """Write the Gradescope autograder zip; returns the names it contains."""

    pkg = package_dir()
    repo = os.path.dirname(pkg)
    names = []
    with zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED) as zf:
        names += add_exercise(zf, get(exercise).directory, "exercise")
        run = RUN.format(seed=int(seed), penalty=float(late_penalty))
        for name, text in (("setup.sh", SETUP), ("run_autograder", run)):
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


def package_dir() -> str:
    """The directory of the ``derive`` package (wherever this module sits inside it)."""
    return os.path.dirname(os.path.abspath(sys.modules[__name__.split(".")[0]].__file__))


def add_exercise(zf, directory, arc_root) -> list:
    """Put an exercise directory's files into a zip under ``arc_root``."""
    names = []
    for f in sorted(os.listdir(directory)):
        full = os.path.join(directory, f)
        if os.path.isfile(full) and not f.startswith("."):
            zf.write(full, f"{arc_root}/{f}")
            names.append(f"{arc_root}/{f}")
    return names


def pick_submission(folder: str, exercise: str):
    """The file to grade among a platform's submitted files: one named after the exercise
    first, then .py before .ipynb, shallow before deep; None if there is no .py or .ipynb."""
    files = [os.path.join(d, f) for d, _, names in os.walk(folder) for f in names
             if f.endswith((".py", ".ipynb")) and ".ipynb_checkpoints" not in d]
    if not files:
        return None
    files.sort(key=lambda f: (exercise not in os.path.basename(f), f.endswith(".ipynb"),
                              f.count(os.sep), f))
    return files[0]


def elapsed(start: float) -> float:
    """Seconds since run_autograder started (``DERIVE_STARTED``, epoch seconds), else since ``start``."""
    import time

    try:
        return max(0.0, time.time() - float(os.environ["DERIVE_STARTED"]))
    except (KeyError, ValueError):
        return time.monotonic() - start


def _metadata(root: str) -> dict:
    try:
        with open(os.path.join(root, "submission_metadata.json"), encoding="utf-8") as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _student(meta: dict) -> str:
    """The student id Gradescope gives: the first user's sid, else email, else id."""
    try:
        users = meta.get("users") or [{}]
        return str(users[0].get("sid") or users[0].get("email") or users[0].get("id") or "")
    except (AttributeError, IndexError, TypeError):
        return ""


def _late(meta: dict, grade: dict, penalty: float) -> dict:
    """Lateness from Gradescope's metadata (created_at against the assignment's due_date)."""

    try:
        due = (meta.get("users") or [{}])[0].get("assignment", {}).get("due_date") or \
            meta.get("assignment", {}).get("due_date")
        return apply_late(grade, parse_time(due), parse_time(meta["created_at"]), penalty)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return grade


def isolation():
    """The layer a platform container grades with: ``DERIVE_ISOLATION`` if set (strictly), else
    the strongest that works; where none does, the platform's own container is the isolation."""

    if os.environ.get("DERIVE_ISOLATION"):
        return plan(os.environ["DERIVE_ISOLATION"])
    try:
        return plan("auto")
    except DeriveError:
        return plan("none")


def run_autograder(root: str, exercise: str, seed: int = 0) -> dict:
    """Grade the submission under ``root`` and write ``root/results/results.json``."""
    import time

    out = os.path.join(root, "results", "results.json")
    start = time.monotonic()
    try:
        ex = get(exercise)
        path = pick_submission(os.path.join(root, "submission"), ex.name)
        meta = _metadata(root)
        if path is None:
            result = {"score": 0, "output": "No .py or .ipynb file was submitted."}
        else:
            grade, layer = grade_in_container(ex, path, seed, _student(meta))
            grade = _late(meta, grade, float(os.environ.get("DERIVE_LATE_PENALTY", "0") or 0))
            result = gradescope_result(grade, elapsed(start))
            result["extra_data"]["isolation"] = layer.description
            print(f"{grade.get('student') or '?'}: {grade['score']:g}/{grade['max_score']:g} "
                  f"{grade['misconceptions']} in {result['execution_time']} s; isolation: {layer.description}")
    except Exception as err:  # always leave a results file
        result = {"score": 0, "output": f"Internal autograder error ({type(err).__name__}: {err}); "
                  "please tell your instructor.", "stdout_visibility": "hidden",
                  "extra_data": {"traceback": traceback.format_exc()[-2000:]}}
        print(result["extra_data"]["traceback"])
    return write_results_file(out, result)


def grade_in_container(ex, path, seed, student=""):
    """One submission graded under the strongest kernel layer that works in this container:
    (its grade as a dict, the layer used). Gradescope and PrairieLearn both grade this way."""
    from dataclasses import replace

    layer = isolation()
    limits = replace(ex.limits(), isolation=layer.layer)
    return grade_one(ex, path, seed, limits, student=student).as_dict(), layer


def write_results_file(out, result):
    """Write a platform's results file (its folder made first); returns ``result``."""
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=1)
    return result


if __name__ == "__main__":
    run_autograder(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
