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
import stat
import sys
import threading
from dataclasses import replace
from concurrent.futures import ThreadPoolExecutor, as_completed

import numpy as np

from derive.teach.feedback import assess, failed
from derive.teach.grading.sandbox import Limits, run_submission
from derive.teach.grading.child_report import printable
from derive.teach.course import finished_results
from derive.teach.course import journal_records
from derive.teach.grading import recorder

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
            tree = recorder.parse(code)
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


def _read(path: str) -> bytes:
    """At most MAX_SOURCE + 1 bytes of a regular file; BadSubmission naming what else it is."""
    try:
        st = os.stat(path)
    except OSError as err:
        raise BadSubmission(f"cannot read the file: {err.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise BadSubmission(f"not a regular file ({_KINDS.get(stat.S_IFMT(st.st_mode), 'special file')})")
    if st.st_size > MAX_SOURCE:
        raise BadSubmission(f"the file is larger than {MAX_SOURCE // 1000} kB")
    try:  # O_NONBLOCK: a file swapped for a FIFO since the stat cannot block the batch
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise BadSubmission(f"cannot read the file: {err.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BadSubmission("not a regular file (it changed while being read)")
        try:
            data = fh.read(MAX_SOURCE + 1)
        except OSError as err:
            raise BadSubmission(f"cannot read the file: {err.strerror}") from None
    if len(data) > MAX_SOURCE:
        raise BadSubmission(f"the file is larger than {MAX_SOURCE // 1000} kB")
    return data


_KINDS = {stat.S_IFDIR: "a directory", stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


def load(path: str) -> str:
    """The Python source of a submission file (.py as is, .ipynb exported)."""
    text = _read(path).decode("utf-8", "replace")
    return notebook_source(text) if path.endswith(".ipynb") else text


def _wire(point: dict) -> dict:
    return {k: {"array": v.tolist()} if isinstance(v, np.ndarray) else v for k, v in point.items()}


def student_of(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def grade_one(ex, path: str, seed: int = 0, limits: Limits | None = None, student=None,
              student_seed=None):
    """Grade one submission file: a Grade, never an exception (a grader bug included).

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
        points = ex.points(seed, student, student_seed)
        limits = replace(limits or ex.limits(), forbidden=tuple(ex.forbidden))
        report = run_submission(source, os.path.basename(path), "backward", ex.params,
                                [_wire(p) for p in points], limits, record=ex.has_loops)
        return assess(ex, points, report, submission=path, source=source)
    except BadSubmission as err:
        return failed(ex, path, str(err))
    except Exception as err:  # a grader bug must not stop the batch
        return failed(ex, path, f"internal grading error ({type(err).__name__}: {printable(err, 200)})")


def _digest(path: str) -> str:
    try:
        return hashlib.sha256(_read(path)).hexdigest()
    except BadSubmission:
        return ""


def read_journal(path: str, exercise: str, seed: int) -> dict:
    """{(submission, sha256): grade dict} from an interrupted run's output file, or from a
    finished one (``-o FILE`` in JSON: every grade records its file's sha256 and the seed)."""

    done = {}
    for g in finished_results(path):
        if g.get("exercise") == exercise and g.get("seed") == seed and g.get("sha256"):
            done[(g["submission"], g["sha256"])] = g
    for rec in journal_records(path):
        if rec.get("exercise") == exercise and rec.get("seed") == seed:
            done[(rec["submission"], rec["sha256"])] = rec["grade"]
    return done


class Progress:
    """A one-line progress bar on stderr, kept below the result lines: a caller that prints a
    line clears the bar first (``clear``); the next ``step`` draws it again; ``finish`` ends it."""

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
            self.stream.flush()

    def finish(self):
        if self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()


def grade_batch(ex, paths, seed=0, workers=2, limits=None, journal=None, progress=True,
                on_result=None, students=None, regrade=False, problems=None) -> list:
    """Grade many files in parallel; returns grade dicts in the order given.

    ``journal``: a file path; finished results are appended there as JSON lines (flushed)
    and reused on a rerun with the same exercise and seed if the file is unchanged (by
    content hash), unless ``regrade``. ``students``: (id, roster seed or None) per path.
    ``problems``: {path: why there is nothing to grade there}; those get 0 with the reason.
    """
    try:  # stage the exercise here, before the workers (Python 3.11 parses unsafely in threads)
        ex.has_loops
    except Exception:  # noqa: BLE001  a broken exercise: each submission reports it as before
        pass
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
            if on_result:
                on_result(i, r)
            bar.step(r)
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(_grade_or_fail, ex, paths[i], seed, limits, students[i], problems): i
                       for i in todo}
            for fut in as_completed(futures):
                i = futures[fut]
                grade = dict(_as_dict(fut, ex, paths[i]), sha256=digests[paths[i]], seed=seed)
                with lock:
                    results[i] = grade
                    if sink:
                        _journal(sink, ex, seed, paths[i], digests[paths[i]], grade)
                    if on_result:
                        on_result(i, grade)
                    bar.step(grade)
    finally:
        bar.finish()
        if sink:
            sink.close()
    return results


def _grade_or_fail(ex, path, seed, limits, student, problems):
    if problems and problems.get(path):
        grade = failed(ex, path, problems[path])
        grade.student, grade.exercise = student[0] or student_of(path), ex.name
        return grade
    return grade_one(ex, path, seed, limits, *student)


def _as_dict(fut, ex, path) -> dict:
    """The finished grade as a dict; a failure of the grader itself is that file's 0, not the batch's."""
    try:
        return fut.result().as_dict()
    except Exception as err:
        return failed(ex, path, f"internal grading error ({type(err).__name__})").as_dict()


def _journal(sink, ex, seed, path, digest, grade):
    sink.write(json.dumps({"derive_journal": 1, "exercise": ex.name, "seed": seed,
                           "submission": path, "sha256": digest, "grade": grade}) + "\n")
    sink.flush()

