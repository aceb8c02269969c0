"""Score a learner's numbers against the derived key: tests, the first wrong line, misconceptions.

Input is what the learner's function returned and its local variables at return, at each
point (from the sandbox or from ``check``); the key is computed here, in the grader's
process. Output is a :class:`Grade` whose ``as_dict()`` is the JSON object of ``derive grade``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from derive.misconceptions import LABELS

RTOL, ATOL = 1e-5, 1e-8
SHAPE_WORDS = ("shape", "aligned", "broadcast", "matmul", "dimension")


@dataclass
class Grade:
    """The result for one submission."""

    submission: str
    score: float
    max_score: float
    tests: list
    misconceptions: list = field(default_factory=list)
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.score == self.max_score

    def as_dict(self) -> dict:
        return {"submission": self.submission, "score": self.score, "max_score": self.max_score,
                "tests": self.tests, "misconceptions": self.misconceptions}

    def text(self) -> str:
        head = f"{self.submission + ': ' if self.submission else ''}{_num(self.score)}/{_num(self.max_score)}"
        lines = [head + (" - all correct" if self.passed else "")]
        if self.message:
            lines.append(self.message)
        if self.message and all(t["output"] == self.message for t in self.tests):
            return "\n".join(lines + [f"  misconception {m}: {LABELS[m]}" for m in self.misconceptions])
        for t in self.tests:
            lines.append(f"  {t['name']}: {_num(t['score'])}/{_num(t['max_score'])}  {t['output']}")
        for label in self.misconceptions:
            lines.append(f"  misconception {label}: {LABELS[label]}")
        return "\n".join(lines)

    __repr__ = text


def _num(x):
    return f"{x:g}" if isinstance(x, float) else str(x)


def as_array(v):
    """A learner's value (plain JSON data) as a float array, or None if it is not numbers."""
    if isinstance(v, dict):
        v = v.get("array")
        if v is None:
            return None
    try:
        arr = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        return None
    return arr


def agree(learner, expected) -> bool:
    arr, exp = as_array(learner), np.asarray(expected, dtype=float)
    return arr is not None and arr.shape == exp.shape and bool(np.allclose(arr, exp, rtol=RTOL, atol=ATOL))


def _show(v):
    arr = as_array(v)
    if arr is None:
        return f"a {v.get('type', 'value') if isinstance(v, dict) else type(v).__name__}"
    if arr.ndim == 0:
        return f"{float(arr):.6g}"
    return np.array2string(arr, precision=4, separator=", ").replace("\n", "")


def _at(point, index=None) -> str:
    if any(np.size(v) > 4 for v in point.values()):
        return f"point {index + 1}" if index is not None else "one point"
    return ", ".join(f"{k}={_show(v.tolist() if isinstance(v, np.ndarray) else v)}" for k, v in point.items())


def _returned(ex, value):
    if len(ex.outputs) == 1:
        return {ex.outputs[0]: value}
    if isinstance(value, list) and len(value) == len(ex.outputs):
        return dict(zip(ex.outputs, value))
    return None


def _why_wrong(v, expected) -> str:
    arr, exp = as_array(v), np.asarray(expected, dtype=float)
    if arr is not None and arr.shape != exp.shape:
        return f"has shape {arr.shape} but should have shape {exp.shape}"
    return f"is {_show(v)} but should be {_show(expected)}"


def failed(ex, submission, message, labels=()) -> Grade:
    """A submission that did not run: 0 points, the message in every test."""
    tests = [{"name": t, "score": 0.0, "max_score": 1.0, "output": message} for t in test_names(ex)]
    return Grade(submission, 0.0, float(len(tests)), tests, list(labels), message)


def test_names(ex):
    return list(ex.outputs) + (["lines"] if ex.has_lines else [])


def assess(ex, points, report, submission="") -> Grade:
    """Grade the report of one submission (``{"calls": [...], "error": ...}``) at ``points``."""
    if report.get("error"):
        return failed(ex, submission, report["error"])
    calls = report.get("calls", [])
    if len(calls) != len(points):
        return failed(ex, submission, "the submission's results are incomplete")
    keys = [ex.key(p) for p in points]
    for p, k in zip(points, keys):
        ex.verify(p, k)
    errors = [c["error"] for c in calls if "error" in c]
    labels, notes = [], []
    if (errors and ex.vector and "NotImplementedError" not in errors[0]
            and any(w in errors[0].lower() for w in SHAPE_WORDS)):
        labels.append("transpose")
    if errors and len(errors) == len(calls):
        return failed(ex, submission, errors[0], labels)
    if errors:
        notes.append(f"error at {len(errors)} of {len(points)} points: {errors[0]}")
    outs = [(_returned(ex, c["returned"]) if "returned" in c else None) for c in calls]
    if any(o is None for o, c in zip(outs, calls) if "error" not in c):
        notes.append(f"backward should return {len(ex.outputs)} values: ({', '.join(ex.outputs)})")
    tests = []
    for name in ex.outputs:
        ok = [o is not None and agree(o.get(name), k.outputs[name]) for o, k in zip(outs, keys)]
        wrong = next((i for i, good in enumerate(ok) if not good and outs[i] is not None), None)
        msg = f"correct at {sum(ok)} of {len(ok)} points"
        if wrong is not None:
            msg += (f"; at {_at(points[wrong], wrong)} your {name} "
                    + _why_wrong(outs[wrong][name], keys[wrong].outputs[name]))
        elif errors or any(o is None for o in outs):
            msg += "; " + notes[0] if notes else ""
        tests.append({"name": name, "score": round(sum(ok) / len(ok), 4), "max_score": 1.0,
                      "output": msg})
    line_msg, line_name = "", None
    locs = [c.get("locals", {}) for c in calls]
    if ex.has_lines:
        score, line_msg, line_name = _lines(ex, points, keys, locs, tests)
        tests.append({"name": "lines", "score": score, "max_score": 1.0, "output": line_msg})
    if any(t["score"] < 1 for t in tests) and not errors:
        labels += _diagnose(ex, points, keys, outs, locs, line_name)
    labels = list(dict.fromkeys(labels))
    score = round(sum(t["score"] for t in tests), 4)
    message = "; ".join(notes + ([line_msg] if line_name else []))
    return Grade(submission, score, float(len(tests)), tests, labels, message)


def _lines(ex, points, keys, locs, tests):
    """Score the learner's named lines (forward values and adjoints, named as in the reference)
    at every point; find the first wrong one: forward order, then backward order."""
    checked = right = 0
    first = None
    for kind in ("forward", "adjoints"):
        for name in getattr(keys[0], kind):
            if not all(name in loc for loc in locs):
                continue
            for i, (loc, key) in enumerate(zip(locs, keys)):
                expected = getattr(key, kind)[name]
                good = agree(loc[name], expected)
                checked, right = checked + 1, right + good
                if not good and first is None:
                    what = "forward value" if kind == "forward" else "line"
                    first = (name, f"first wrong {what}: {name} at {_at(points[i], i)} "
                             + _why_wrong(loc[name], expected))
    if checked == 0:  # no named intermediates: credit follows the outputs
        score = round(sum(t["score"] for t in tests) / len(tests), 4)
        return score, "no lines named as in the reference (dx, ddot, ...): credit follows the results", None
    score = round(right / checked, 4)
    if first is None:
        return score, f"all {checked // len(keys)} named lines correct", None
    return score, first[1], first[0]


def _diagnose(ex, points, keys, outs, locs, line_name):
    """Labels of the known-wrong variants the learner's numbers match."""
    variants = [ex.variants(p) for p in points]
    labels = []
    wrong_outputs = [n for n in ex.outputs
                     if not all(o is not None and agree(o.get(n), k.outputs[n]) for o, k in zip(outs, keys))]
    for j, (label, _) in enumerate(variants[0]):
        per_point = [v[j][1] for v in variants]
        if any(vk is None for vk in per_point):
            continue
        if line_name is not None:
            kind = "forward" if line_name in keys[0].forward else "adjoints"
            if all(line_name in getattr(vk, kind) and agree(loc[line_name], getattr(vk, kind)[line_name])
                   for vk, loc in zip(per_point, locs)):
                labels.append(label)
                continue
        for n in wrong_outputs:
            if all(o is not None and agree(o.get(n), vk.outputs[n]) for o, vk in zip(outs, per_point)):
                labels.append(label)
                break
    if ex.vector:
        for n in wrong_outputs:
            if all(o is not None and as_array(o.get(n)) is not None
                   and agree(as_array(o.get(n)).T, k.outputs[n]) for o, k in zip(outs, keys)):
                labels.append("transpose")
    return labels
