"""Measurement 5: grading throughput, submissions per second with 1 and 2 workers.

Runs the grader as a learner's instructor does, ``python -m derive grade sigmoid_neuron
SUBMISSION... --json --workers N``, on a batch of correct submissions written here (the
notes' 2-D sigmoid neuron, whose backward pass is short enough to write out). Skipped with
a note while the grader (``derive/cli/commands/grade.py``, issue 6) is not on this branch.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import table as _table

ROOT = Path(__file__).resolve().parent.parent
EXERCISE = "sigmoid_neuron"
SUBMISSION = '''\
import math


def backward(w, x):
    dot = w[0]*x[0] + w[1]*x[1] + w[2]
    f = 1.0 / (1 + math.exp(-dot))
    ddot = (1 - f) * f
    dx = [w[0] * ddot, w[1] * ddot]
    dw = [x[0] * ddot, x[1] * ddot, 1.0 * ddot]
    return dw, dx
'''


def measure(budget, count=None) -> dict:
    if not (ROOT / "derive" / "cli" / "commands" / "grade.py").exists():
        return {"status": "skipped: the grader (issue 6) is not on this branch yet"}
    count = count or budget.submissions
    out = {"status": "ok", "submissions": count, "exercise": EXERCISE, "workers": {}}
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i in range(count):
            p = Path(tmp) / f"student{i:03d}.py"
            p.write_text(SUBMISSION)
            files.append(str(p))
        for workers in (1, 2):
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "derive", "grade", EXERCISE, *files, "--json",
                                   "--workers", str(workers)], cwd=ROOT, capture_output=True, text=True,
                                  timeout=600)
            took = time.perf_counter() - t0
            if proc.returncode != 0:
                msg = (proc.stderr.strip().splitlines() or ["no message"])[-1]
                out["workers"][workers] = {"status": f"error: exit {proc.returncode}: {msg[:200]}"}
                continue
            try:
                results = json.loads(proc.stdout)
                full = sum(1 for r in results if r["score"] == r["max_score"])
            except (ValueError, KeyError, TypeError):
                out["workers"][workers] = {"status": "error: the grader's --json output did not parse"}
                continue
            out["workers"][workers] = {"seconds": took, "per_second": count / took, "full_marks": full}
    return out


def table(g) -> str:
    title = "(5) grading throughput (one run of `derive grade --json`, process start included)"
    if g.get("status") != "ok":
        return f"{title}\n{g.get('status')}"
    rows = []
    for w, r in g["workers"].items():
        if "status" in r:
            rows.append([w, r["status"], "-", "-"])
        else:
            rows.append([w, f"{r['seconds']:.2f}s", f"{r['per_second']:.1f}", f"{r['full_marks']}/{g['submissions']}"])
    return _table(f"{title}; {g['submissions']} submissions of {g['exercise']}",
                  ["workers", "wall time", "submissions/s", "full marks"], rows)
