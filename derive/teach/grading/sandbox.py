"""Run one untrusted submission in its own isolated process with limits; return what it computed.

The child (``derive/teach/grading/sandbox_child.py``, sent as code so derive is not loaded there) starts
under the isolation layer chosen in ``derive.teach.grading.isolation`` (bubblewrap namespaces, else
Landlock + seccomp; both with rlimits). It gets its job and its code on stdin (marshal) and
answers on a pipe created for it alone; what it prints comes back on another pipe, read here
up to the output limit.
The grader (this process) enforces the wall-clock and output limits, kills the child's whole
process group, and checks every byte of the report (``derive.teach.grading.child_report``).
"""
from __future__ import annotations

import marshal
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass

from derive.teach.grading import isolation
from derive.core.errors import DeriveError
from derive.teach.grading.child_report import MAX_REPORT, parse

FORBIDDEN = ("derive", "sympy", "autograd", "torch", "jax", "jaxlib", "tensorflow")
SHOWN_OUTPUT = 2000


@dataclass
class Limits:
    """Per-submission limits: wall/CPU seconds, extra memory, bytes of output; the isolation layer."""

    time: float = 10.0
    memory: int = 512 * 2**20
    output: int = 2**20
    forbidden: tuple = FORBIDDEN
    isolation: str = "auto"


def _failure(why, printed=""):
    return {"calls": [], "error": why, "output": printed}


def run_submission(source: str, filename: str, function: str, params, points, limits=None,
                   record: bool = False) -> dict:
    """Run ``function`` of ``source`` at each point in an isolated child.

    Returns ``{"calls": [{"returned", "locals"} | {"error"}], "error": str | None,
    "output": first characters the learner printed}``; never raises. With ``record`` each call
    also has the capped ``"history"`` of its statements' values (``recorder.py``).
    """
    limits = limits or Limits()
    try:
        plan = isolation.plan(limits.isolation)
    except DeriveError as err:
        return _failure(f"not graded: {err}")
    workdir = None if plan.layer == "bwrap" else tempfile.mkdtemp(prefix="derive-grade-")
    read_fd, write_fd = os.pipe()
    job = isolation.child_job(
        source=source, filename=filename, function=function, params=list(params), points=points,
        forbidden=list(limits.forbidden), time_limit=limits.time, memory_limit=limits.memory,
        output_limit=limits.output, workdir=workdir or isolation.WORK, result_fd=write_fd,
        deny_dirs=[isolation.HERE], isolation=plan.job(), record=bool(record),
        numpy="numpy" in source or any(isinstance(v, dict) for p in points for v in p.values()))
    env = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
    try:
        proc = subprocess.Popen(plan.argv(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, pass_fds=(write_fd,), cwd=workdir or "/",
                                env=env, start_new_session=True)
    except OSError as err:
        os.close(read_fd)
        os.close(write_fd)
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        return _failure(f"grader could not start a process: {err}")
    os.close(write_fd)
    try:
        try:
            proc.stdin.write(marshal.dumps(job))
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        data, printed, why = _read_all(read_fd, proc, limits)
        status = proc.poll()
        if why:
            return _failure(why, printed)
        return _report(data, status, plan.layer, limits, printed)
    finally:
        _kill(proc)
        os.close(read_fd)
        proc.stdout.close()
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def _read_all(fd, proc, limits):
    """(report bytes, printed text, why it was stopped or "") once the child is done or stopped."""
    out = proc.stdout.fileno()
    deadline = time.monotonic() + limits.time + 1.0  # +1 s: interpreter start
    chunks, size, shown, printed = [], 0, [], 0
    open_fds, gone = {fd, out}, False
    while open_fds:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"", _text(shown), f"time limit exceeded ({limits.time:g} s): an infinite loop?"
        ready, _, _ = select.select(list(open_fds), [], [], 0 if gone else min(left, 0.5))
        for r in ready:
            chunk = os.read(r, 1 << 16)
            if not chunk:
                open_fds.discard(r)
            elif r == fd:
                size += len(chunk)
                if size > MAX_REPORT:
                    return b"", _text(shown), "the submission's values are too large to grade"
                chunks.append(chunk)
            else:
                printed += len(chunk)
                if printed > limits.output:
                    return b"", _text(shown), "output limit exceeded (the submission printed too much)"
                if sum(map(len, shown)) < SHOWN_OUTPUT:
                    shown.append(chunk)
        if not ready:
            if gone:
                break  # the child is gone and what it wrote is read; a descendant may still hold the pipes
            gone = proc.poll() is not None  # then one more pass: what it wrote after the last wait
    try:
        proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return b"", _text(shown), f"time limit exceeded ({limits.time:g} s): an infinite loop?"
    return b"".join(chunks), _text(shown), ""


def _text(chunks):
    return b"".join(chunks)[:SHOWN_OUTPUT].decode("utf-8", "replace")


def _kill(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _signal_of(status, layer):
    """The signal that ended the child, from its exit status (bwrap reports 128 + signal)."""
    if status is not None and status < 0:
        return -status
    if layer == "bwrap" and status is not None and 128 < status < 128 + 65:
        return status - 128
    return None


def _report(data, status, layer, limits, printed):
    if not data:
        sig = _signal_of(status, layer)
        if sig is not None:
            name = signal.Signals(sig).name if sig in signal.valid_signals() else f"signal {sig}"
            why = {"SIGXCPU": f"CPU time limit exceeded ({limits.time:g} s)",
                   "SIGKILL": "killed (memory or time limit)",
                   "SIGALRM": f"time limit exceeded ({limits.time:g} s)",
                   "SIGSEGV": "crashed (segmentation fault)"}.get(name, f"crashed ({name})")
        elif layer == "bwrap" and printed.startswith("bwrap:"):
            why = "the grading sandbox could not start (" + printed.splitlines()[0][:200] + ")"
        else:
            why = f"the submission ended the process (exit status {status}) before returning results"
        return _failure(why, printed)
    report = parse(data)
    if report is None:
        return _failure("the grader's result channel was tampered with", printed)
    return {**report, "output": printed}
