"""Grade submissions: load .py/.ipynb, run each sandboxed, score; batches in parallel with resume.

``grade_one`` never raises for anything a learner did (it returns 0 points and a message).
``grade_batch`` runs submissions on worker threads (each waits on its own child process),
reports each result as it finishes, and can journal finished results as JSON lines into the
output file itself, so a rerun after a kill skips what is done. Nothing else is written.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import sys
import threading
from dataclasses import replace
from concurrent.futures import ThreadPoolExecutor, as_completed

import numpy as np

from derive.feedback import assess, failed
from derive.sandbox import Limits, run_submission

MAX_SOURCE = 1_000_000
_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
         ast.Assign, ast.AnnAssign)


class BadSubmission(Exception):
    """The file cannot be read as a submission (graded 0 with this message)."""


def notebook_source(text: str) -> str:
    """The code of a notebook's cells: definitions, imports and assignments.

    Top-level calls, magics and shell lines are dropped, and so are imports from derive (the
    template's ``check`` cell) with the statements that use the names they bind.
    """
    try:
        nb = json.loads(text)
        cells = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BadSubmission("not a readable Jupyter notebook (.ipynb JSON)") from None
    parts, derived = [], set()
    for cell in cells:
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        lines = [ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        code = "\n".join(lines)
        try:
            tree = ast.parse(code)
        except SyntaxError:
            parts.append(code)  # the child reports the syntax error
            continue
        for node in tree.body:
            if _imports_derive(node):  # the template's check cell: drop it and what uses it
                derived |= {(a.asname or a.name).split(".")[0] for a in node.names}
            elif isinstance(node, _KEEP) and not (
                    not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                    and any(isinstance(n, ast.Name) and n.id in derived for n in ast.walk(node))):
                parts.append(ast.get_source_segment(code, node) or "")
    return "\n\n".join(parts) + "\n"


def _imports_derive(node) -> bool:
    if isinstance(node, ast.Import):
        return any(a.name.split(".")[0] == "derive" for a in node.names)
    return isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "derive"


def load(path: str) -> str:
    """The Python source of a submission file (.py as is, .ipynb exported)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_SOURCE + 1)
    except OSError as err:
        raise BadSubmission(f"cannot read the file: {err.strerror}") from None
    if len(data) > MAX_SOURCE:
        raise BadSubmission(f"the file is larger than {MAX_SOURCE // 1000} kB")
    text = data.decode("utf-8", "replace")
    return notebook_source(text) if path.endswith(".ipynb") else text


def _wire(point: dict) -> dict:
    return {k: {"array": v.tolist()} if isinstance(v, np.ndarray) else v for k, v in point.items()}


def student_of(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def grade_one(ex, path: str, seed: int = 0, limits: Limits | None = None, student=None,
              student_seed=None):
    """Grade one submission file: a Grade, never an exception for the learner's doing.

    ``student`` is the id whose points are used (default: the file name); ``student_seed``
    a roster's seed for that student. The Grade records student, points and exercise.
    """
    student = student if student is not None else student_of(path)
    grade = _grade(ex, path, seed, limits, student, student_seed)
    grade.student, grade.exercise = student, ex.name
    return grade


def _grade(ex, path, seed, limits, student, student_seed):
    try:
        source = load(path)
    except BadSubmission as err:
        return failed(ex, path, str(err))
    points = ex.points(seed, student, student_seed)
    limits = replace(limits or ex.limits(), forbidden=tuple(ex.forbidden))
    report = run_submission(source, os.path.basename(path), "backward", ex.params,
                            [_wire(p) for p in points], limits)
    try:
        return assess(ex, points, report, submission=path, source=source)
    except Exception as err:  # a grader bug must not stop the batch
        return failed(ex, path, f"internal grading error ({type(err).__name__}: {err})")


def _digest(path: str) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            h.update(fh.read(MAX_SOURCE + 1))
    except OSError:
        return ""
    return h.hexdigest()


def read_journal(path: str, exercise: str, seed: int) -> dict:
    """{(submission, sha256): grade dict} from an interrupted run's output file, or from a
    finished one (``-o FILE`` in JSON: every grade records its file's sha256 and the seed)."""
    from derive.course import finished_results, journal_records

    done = {}
    for g in finished_results(path):
        if g.get("exercise") == exercise and g.get("seed") == seed and g.get("sha256"):
            done[(g["submission"], g["sha256"])] = g
    for rec in journal_records(path):
        if rec.get("exercise") == exercise and rec.get("seed") == seed:
            done[(rec["submission"], rec["sha256"])] = rec["grade"]
    return done


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total, enabled=True, stream=None):
        self.total, self.done, self.enabled = total, 0, enabled and total > 0
        self.stream = stream or sys.stderr
        self.zero = 0

    def step(self, grade):
        self.done += 1
        self.zero += grade["score"] == 0
        if self.enabled:
            width = 30
            fill = int(width * self.done / self.total)
            self.stream.write(f"\rgrading [{'#' * fill}{'.' * (width - fill)}] "
                              f"{self.done}/{self.total}  ({self.zero} at 0)")
            if self.done == self.total:
                self.stream.write("\n")
            self.stream.flush()


def grade_batch(ex, paths, seed=0, workers=2, limits=None, journal=None, progress=True,
                on_result=None, students=None, regrade=False) -> list:
    """Grade many files in parallel; returns grade dicts in the order given.

    ``journal``: a file path; finished results are appended there as JSON lines (flushed)
    and reused on a rerun with the same exercise and seed if the file is unchanged (by
    content hash), unless ``regrade``. ``students``: (id, roster seed or None) per path.
    """
    done = read_journal(journal, ex.name, seed) if journal and not regrade else {}
    students = students or [(None, None)] * len(paths)
    digests = {p: _digest(p) for p in paths}
    results = [None] * len(paths)
    todo = []
    for i, p in enumerate(paths):
        prev = done.get((p, digests[p]))
        results[i] = prev
        if prev is None:
            todo.append(i)
    bar = Progress(len(paths), progress)
    lock = threading.Lock()
    sink = None
    if journal:
        sink = open(journal, "w", encoding="utf-8")
        for i, r in enumerate(results):
            if r is not None:
                _journal(sink, ex, seed, paths[i], digests[paths[i]], r)
    for i, r in enumerate(results):
        if r is not None:
            bar.step(r)
            if on_result:
                on_result(i, r)
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(grade_one, ex, paths[i], seed, limits, *students[i]): i for i in todo}
            for fut in as_completed(futures):
                i = futures[fut]
                grade = dict(fut.result().as_dict(), sha256=digests[paths[i]], seed=seed)
                with lock:
                    results[i] = grade
                    if sink:
                        _journal(sink, ex, seed, paths[i], digests[paths[i]], grade)
                    bar.step(grade)
                    if on_result:
                        on_result(i, grade)
    finally:
        if sink:
            sink.close()
    return results


def _journal(sink, ex, seed, path, digest, grade):
    sink.write(json.dumps({"derive_journal": 1, "exercise": ex.name, "seed": seed,
                           "submission": path, "sha256": digest, "grade": grade}) + "\n")
    sink.flush()

