"""Run one untrusted submission in its own process with limits; return what its function returned.

The child (``derive/sandbox_child.py``, run as a script so derive is not loaded there) gets
its job on stdin and answers on a pipe created for it alone; its stdout and stderr go to a
size-limited file in a fresh temporary directory that is removed afterwards. The grader
(this process) enforces the wall-clock limit and kills the child's whole process group.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox_child.py")
FORBIDDEN = ("derive", "sympy", "autograd", "torch", "jax", "jaxlib", "tensorflow")
MAX_REPORT = 20_000_000


@dataclass
class Limits:
    """Per-submission limits: wall/CPU seconds, extra memory, bytes of output."""

    time: float = 10.0
    memory: int = 512 * 2**20
    output: int = 2**20
    forbidden: tuple = FORBIDDEN


def run_submission(source: str, filename: str, function: str, params, points, limits=None) -> dict:
    """Run ``function`` of ``source`` at each point in a sandboxed child.

    Returns ``{"calls": [{"returned", "locals"} | {"error"}], "error": str | None,
    "output": first lines the learner printed}``; never raises for anything the learner does.
    """
    limits = limits or Limits()
    workdir = tempfile.mkdtemp(prefix="derive-grade-")
    read_fd, write_fd = os.pipe()
    job = {"source": source, "filename": filename, "function": function, "params": list(params),
           "points": points, "forbidden": list(limits.forbidden), "time_limit": limits.time,
           "memory_limit": limits.memory, "output_limit": limits.output, "workdir": workdir,
           "result_fd": write_fd, "deny_dirs": [os.path.dirname(CHILD)],
           "numpy": "numpy" in source or any(isinstance(v, dict) for p in points for v in p.values())}
    env = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
    try:
        proc = subprocess.Popen([sys.executable, "-I", "-B", CHILD], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                pass_fds=(write_fd,), cwd=workdir, env=env, start_new_session=True)
    except OSError as err:
        os.close(read_fd)
        os.close(write_fd)
        shutil.rmtree(workdir, ignore_errors=True)
        return {"calls": [], "error": f"grader could not start a process: {err}", "output": ""}
    os.close(write_fd)
    try:
        try:
            proc.stdin.write(json.dumps(job).encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        data, timed_out = _read_all(read_fd, proc, limits.time)
        status = proc.poll()
        return _report(data, timed_out, status, limits, _printed(workdir))
    finally:
        _kill(proc)
        os.close(read_fd)
        shutil.rmtree(workdir, ignore_errors=True)


def _read_all(fd, proc, seconds):
    """Read the report until the child closes the pipe or the time is up."""
    deadline, chunks, size = time.monotonic() + seconds + 1.0, [], 0  # +1 s: interpreter start
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"".join(chunks), True
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                return b"".join(chunks), False
            size += len(chunk)
            if size > MAX_REPORT:
                return None, False
            chunks.append(chunk)
        elif proc.poll() is not None and not select.select([fd], [], [], 0)[0]:
            return b"".join(chunks), False


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


def _printed(workdir, limit=2000):
    try:
        with open(os.path.join(workdir, "output.txt"), "rb") as fh:
            text = fh.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""
    return text


def _report(data, timed_out, status, limits, printed):
    if timed_out:
        return {"calls": [], "error": f"time limit exceeded ({limits.time:g} s): an infinite loop?",
                "output": printed}
    if data is None:
        return {"calls": [], "error": "the submission's values are too large to grade", "output": printed}
    if not data:
        if status is not None and status < 0:
            name = signal.Signals(-status).name
            why = {"SIGXCPU": f"CPU time limit exceeded ({limits.time:g} s)",
                   "SIGKILL": "killed (memory or time limit)",
                   "SIGALRM": f"time limit exceeded ({limits.time:g} s)",
                   "SIGSEGV": "crashed (segmentation fault)"}.get(name, f"crashed ({name})")
        else:
            why = f"the submission ended the process (exit status {status}) before returning results"
        return {"calls": [], "error": why, "output": printed}
    try:
        report = json.loads(data.decode())
        calls = report["calls"]
        if not isinstance(calls, list) or not all(isinstance(c, dict) for c in calls):
            raise ValueError
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return {"calls": [], "error": "the grader's result channel was tampered with", "output": printed}
    err = report.get("error")
    return {"calls": calls, "error": str(err) if err is not None else None, "output": printed}
