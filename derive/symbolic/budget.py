"""Run a slow computation under a time budget in a child process that is killed when time is up.

SymPy's ``simplify`` and ``expand`` can run for minutes on a deep derivative and cannot be
interrupted from inside Python, so each one runs in a forked worker: the parent waits at most
``seconds`` and then kills the worker, reporting "gave up after N s" instead of hanging.
"""
from __future__ import annotations

import math
import multiprocessing as mp
import os
import signal
import time
from dataclasses import dataclass

from derive.core.errors import DeriveError

DEFAULT_BUDGET = 5.0
MAX_BUDGET = 86_400.0


@dataclass
class Outcome:
    """What a budgeted call produced: ``value`` if it finished, else a reason."""

    value: object = None
    seconds: float = 0.0
    status: str = "ok"          # "ok", "gave up after N s", or "error: ..."

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def check_budget(seconds) -> float:
    """A budget must be a positive, finite number of seconds."""
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        raise DeriveError(f"time budget must be a number of seconds, got {seconds!r}") from None
    if not math.isfinite(s) or s <= 0:
        raise DeriveError(f"time budget must be a positive number of seconds, got {seconds!r}")
    if s > MAX_BUDGET:
        raise DeriveError(f"time budget must be at most {MAX_BUDGET:g} seconds (a day), got {seconds!r}")
    return s


def gave_up(seconds: float) -> str:
    return f"gave up after {seconds:g} s"


def _child(conn, fn, args):
    try:
        result = ("ok", fn(*args))
    except RecursionError:
        result = ("error", "expression nested too deeply")
    except MemoryError:
        result = ("error", "out of memory")
    except Exception as err:  # reported to the parent as one line
        result = ("error", f"{type(err).__name__}: {' '.join(str(err).split())}"[:300])
    try:
        conn.send(result)
    except Exception as err:  # e.g. a result that cannot be pickled
        conn.send(("error", f"cannot return the result: {type(err).__name__}"))
    conn.close()


def _kill(proc):
    if proc.is_alive():
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.join(2)


def within(seconds, fn, *args) -> Outcome:
    """Call ``fn(*args)`` in a forked child; give up (and kill it) after ``seconds``.

    ``fn`` should return something small and picklable (metrics, numbers, an expression).
    The wall time reported includes starting the child.
    """
    return start(seconds, fn, *args).wait()


def start(seconds, fn, *args, daemon: bool = True) -> "Pending":
    """``within`` without waiting: the child starts now, ``.wait()`` gives the Outcome (at
    most ``seconds`` after the start), so the caller works meanwhile (both cores).
    ``daemon=False`` lets ``fn`` run budgeted calls of its own (the caller must then wait
    or ``cancel``: a child left running would be waited for at exit)."""
    seconds = check_budget(seconds)
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    t0 = time.perf_counter()
    proc = ctx.Process(target=_child, args=(send, fn, args), daemon=daemon)
    proc.start()
    send.close()
    return Pending(seconds, proc, recv, t0)


class Pending:
    """A budgeted call under way (``start``)."""

    def __init__(self, seconds, proc, recv, t0):
        self.seconds, self.proc, self.recv, self.t0, self.outcome = seconds, proc, recv, t0, None

    def wait(self) -> Outcome:
        if self.outcome is None:
            self.outcome = self._collect()
        return self.outcome

    def cancel(self):
        """Kill the child if it still runs (its answer is no longer wanted)."""
        if self.outcome is None:
            self.outcome = Outcome(None, time.perf_counter() - self.t0, "error: cancelled")
            self.recv.close()
            _kill(self.proc)

    def _collect(self) -> Outcome:
        proc, recv, start = self.proc, self.recv, self.t0
        try:
            ready = recv.poll(max(0.0, self.seconds - (time.perf_counter() - start)))
            if not ready:
                _kill(proc)
                return Outcome(None, time.perf_counter() - start, gave_up(self.seconds))
            try:
                kind, value = recv.recv()
            except EOFError:  # the child died without answering (killed, out of memory)
                _kill(proc)
                return Outcome(None, time.perf_counter() - start, "error: the worker died")
            proc.join(1)
            elapsed = time.perf_counter() - start
            if kind == "ok":
                return Outcome(value, elapsed, "ok")
            return Outcome(None, elapsed, f"error: {value}")
        finally:
            recv.close()
            _kill(proc)
