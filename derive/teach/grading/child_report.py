"""Read a grading child's report as untrusted bytes: bounded, schema-checked, never raising.

A report is ``{"calls": [call, ...], "error": str | null}`` where a call is ``{"error": str}``
or ``{"returned": value, "locals": {name: value}}`` (a loop exercise's call adds ``"history":
{"entries": [[line, name, value], ...], "truncated": bool}``, at most ``MAX_HISTORY`` entries
in all) and a value is a number, a short
``{"type": str}``, ``{"array": nested lists of numbers, "shape": [int]}`` or a list of values.
Anything else (too big, too deep, wrong types, not JSON) makes ``parse`` return None, which the
grader reports as a tampered channel. Strings come back escaped by ``printable``.
"""
from __future__ import annotations

import json
import math

MAX_REPORT = 20_000_000
MAX_DEPTH = 64          # brackets open at once, counted before json.loads sees the bytes
MAX_BRACKETS = 2_000_000
MAX_CALLS = 1_000
MAX_NAMES = 200
MAX_TEXT = 400
MAX_HISTORY = 20_000    # history entries over all the calls of one report
MAX_LINE = 10_000_000
_KEEP = bytes(range(256)).translate(None, b"[]{}")  # every byte but brackets


def printable(text, limit=None) -> str:
    """``text`` with control and bidirectional-override characters escaped (\\n, \\x1b, \\u202e)."""
    text = str(text)
    if limit is not None and len(text) > limit:
        text = text[:limit] + "..."
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def too_deep(data: bytes, limit: int = MAX_DEPTH) -> bool:
    """True if brackets nest deeper than ``limit`` (brackets inside strings count too: stricter)."""
    skeleton = data.translate(None, _KEEP)
    if len(skeleton) > MAX_BRACKETS:
        return True
    depth = 0
    for c in skeleton:
        depth += 1 if c in (91, 123) else -1  # [ {
        if depth > limit:
            return True
    return False


def parse(data: bytes):
    """The validated report, or None. Never raises, whatever ``data`` holds."""
    try:
        if len(data) > MAX_REPORT or too_deep(data):
            return None
        report = json.loads(data.decode("utf-8"))
        return _report(report)
    except Exception:  # ValueError, RecursionError, MemoryError...: all mean "not a report"
        return None


def _report(obj):
    if not isinstance(obj, dict) or set(obj) - {"calls", "error"} or not isinstance(obj.get("calls"), list):
        return None
    err = obj.get("error")
    if err is not None and not isinstance(err, str) or len(obj["calls"]) > MAX_CALLS:
        return None
    calls = [_call(c) for c in obj["calls"]]
    if any(c is None for c in calls):
        return None
    if sum(len(c["history"]["entries"]) for c in calls if "history" in c) > MAX_HISTORY:
        return None
    return {"calls": calls, "error": printable(err, MAX_TEXT) if err else None}


def _call(c):
    if not isinstance(c, dict):
        return None
    if set(c) == {"error"} and isinstance(c["error"], str):
        return {"error": printable(c["error"], MAX_TEXT)}
    if set(c) - {"history"} != {"returned", "locals"} or not isinstance(c["locals"], dict) \
            or len(c["locals"]) > MAX_NAMES:
        return None
    if "history" in c and not _history(c["history"]):
        return None
    if not all(isinstance(k, str) and k.isidentifier() and len(k) <= 100 for k in c["locals"]):
        return None
    if not _value(c["returned"]) or not all(_value(v) for v in c["locals"].values()):
        return None
    return c


def _history(h) -> bool:
    """``{"entries": [[line, name or "", value], ...], "truncated": bool}`` within the caps."""
    if not isinstance(h, dict) or set(h) != {"entries", "truncated"} or type(h["truncated"]) is not bool:
        return False
    entries = h["entries"]
    if not isinstance(entries, list) or len(entries) > MAX_HISTORY:
        return False
    for e in entries:
        if not (isinstance(e, list) and len(e) == 3 and type(e[0]) is int and 0 < e[0] < MAX_LINE
                and isinstance(e[1], str) and len(e[1]) <= 100 and (e[1] == "" or e[1].isidentifier())
                and _value(e[2])):
            return False
    return True


def _value(v, depth=0) -> bool:
    if depth > 8:
        return False
    if type(v) in (int, float):  # bool is not a value the child sends
        return True
    if isinstance(v, list):
        return all(_value(x, depth + 1) for x in v)
    if not isinstance(v, dict):
        return False
    if set(v) == {"type"}:
        return isinstance(v["type"], str) and len(v["type"]) <= 100 and v["type"].isprintable()
    if set(v) == {"array", "shape"}:
        shape = v["shape"]
        return (isinstance(shape, list) and 0 < len(shape) <= 32 and all(type(n) is int and n >= 0 for n in shape)
                and _numbers(v["array"], len(shape)) == math.prod(shape))
    return False


def _numbers(v, ndim):
    """How many numbers a nested list of exactly ``ndim`` levels holds (-1 if it is not one)."""
    level = [v]
    for _ in range(ndim):
        if not all(isinstance(x, list) for x in level):
            return -1
        level = [y for x in level for y in x]
    return len(level) if all(type(x) in (int, float) for x in level) else -1
