"""Score a learner's numbers against the derived key: tests, the first wrong line, misconceptions.

Input is what the learner's function returned and its local variables at return, at each
point (from the sandbox or from ``check``); the key is computed here, in the grader's
process. Output is a :class:`Grade` whose ``as_dict()`` is the JSON object of ``derive grade``.
Policy: points per test from the exercise; the lines test matches the learner's variables to
the reference's backward lines by value, under any names, and never credits names the template
already gives; a swapped return order is named; printed output never costs points.
"""
from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass, field

import numpy as np

from derive.teach.misconceptions import LABELS
from derive.teach import loop_lines
from derive.teach.grading import recorder

SHAPE_WORDS = ("shape", "aligned", "broadcast", "matmul", "dimension")
MAX_SHOWN_OUTPUT = 2000


@dataclass
class Grade:
    """The result for one submission."""

    submission: str
    score: float
    max_score: float
    tests: list
    misconceptions: list = field(default_factory=list)
    message: str = ""
    student: str = ""
    exercise: str = ""
    points: list = field(default_factory=list)
    output: str = ""
    rows: list = field(default_factory=list)   # [{"line", "yours", "name", "ok"}] per reference line

    @property
    def passed(self) -> bool:
        return self.score == self.max_score

    def as_dict(self) -> dict:
        return {"submission": self.submission, "student": self.student, "exercise": self.exercise,
                "points": self.points, "score": self.score, "max_score": self.max_score,
                "tests": self.tests, "misconceptions": self.misconceptions, "message": self.message,
                "output": self.output, "rows": self.rows}

    def text(self, released: bool = True) -> str:
        return grade_text(self.as_dict(), released)

    __repr__ = text


def grade_text(g: dict, released: bool = True) -> str:
    """The feedback a learner reads; hidden tests show only that they exist until released."""
    tests = [t for t in g["tests"] if released or not t.get("hidden")]
    score = sum(t["score"] for t in tests) if not released else g["score"]
    top = sum(t["max_score"] for t in tests) if not released else g["max_score"]
    sub = g.get("submission", "")
    lines = [f"{sub + ': ' if sub else ''}{_num(score)}/{_num(top)}"
             + (" - all correct" if score == top and released else "")]
    if not released and len(tests) < len(g["tests"]):
        lines[0] += " (hidden tests are shown after release)"
    if g.get("message"):
        lines.append(g["message"])
    if not (g.get("message") and all(t["output"] == g["message"] for t in g["tests"])):
        lines += [f"  {t['name']}: {_num(t['score'])}/{_num(t['max_score'])}  {t['output']}" for t in tests]
    lines += [f"  misconception {m}: {LABELS[m]}" for m in g["misconceptions"]]
    if g.get("output"):
        lines.append("  your printed output (first lines):\n    "
                     + "\n    ".join(g["output"][:MAX_SHOWN_OUTPUT].splitlines()[:20]))
    return "\n".join(lines)


def _num(x):
    return f"{x:g}" if isinstance(x, float) else str(x)


def as_array(v):
    """A learner's value (plain JSON data) as a float array, or None if it is not numbers."""
    if isinstance(v, dict):
        v = v.get("array")
        if v is None:
            return None
    try:
        return np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        return None


def agree(learner, expected, rtol=1e-5, atol=1e-8) -> bool:
    arr, exp = as_array(learner), np.asarray(expected, dtype=float)
    return arr is not None and arr.shape == exp.shape and bool(np.allclose(arr, exp, rtol=rtol, atol=atol))


def _show(v):
    arr = as_array(v)
    if arr is None:
        return f"a {v.get('type', 'value') if isinstance(v, dict) else type(v).__name__}"
    if arr.ndim == 0:
        return f"{float(arr):.6g}"
    return np.array2string(arr, precision=4, separator=", ", threshold=6, edgeitems=1).replace("\n", "")


def _at(point, index=None) -> str:
    where = f"point {index + 1} (" if index is not None else ""
    vals = ", ".join(f"{k}={_show(v.tolist() if isinstance(v, np.ndarray) else v)}" for k, v in point.items())
    return where + vals + (")" if where else "")


def plain_point(point) -> dict:
    return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in point.items()}


def _why_wrong(v, expected) -> str:
    arr, exp = as_array(v), np.asarray(expected, dtype=float)
    if arr is not None and arr.shape != exp.shape:
        return f"has shape {arr.shape} but should have shape {exp.shape}"
    return f"is {_show(v)} but should be {_show(expected)}"


def _weights(ex):
    return ex.spec.tests


def failed(ex, submission, message, labels=(), **info) -> Grade:
    """A submission that did not run: 0 points, the message in every test."""
    w = _weights(ex)
    tests = [_test(ex, t, 0.0, message) for t in test_names(ex)]
    return Grade(submission, 0.0, float(sum(w.values())), tests, list(labels), message,
                 exercise=ex.name, **info)


def _test(ex, name, fraction, output):
    w = _weights(ex)[name]
    t = {"name": name, "score": round(w * fraction, 4), "max_score": float(w), "output": output}
    if name in ex.spec.hidden:
        t["hidden"] = True
    return t


def test_names(ex):
    return list(ex.outputs) + (["lines"] if ex.has_lines else [])


def _returned(ex, value):
    if len(ex.outputs) == 1:
        return {ex.outputs[0]: value}
    if isinstance(value, list) and len(value) == len(ex.outputs):
        return dict(zip(ex.outputs, value))
    return None


def _swap(ex, outs, keys, ok):
    """The order the learner returned the outputs in, if a permutation makes them all right."""
    if len(ex.outputs) < 2 or any(o is None for o in outs):
        return None
    for perm in itertools.permutations(ex.outputs):  # the order as asked first: equal outputs are no swap
        if all(ok(o[mine], k.outputs[right]) for o, k in zip(outs, keys)
                                      for mine, right in zip(ex.outputs, perm)):
            return None if perm == ex.outputs else perm
    return None


def assignments(source, function="backward") -> dict:
    """{name: [line numbers]} of the assignments in the learner's ``function`` (parsed, not run)."""
    try:
        tree = recorder.parse(source or "")
    except SyntaxError:
        return {}
    fns = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function]
    out = {}
    for node in ast.walk(fns[-1]) if fns else ():
        targets = (node.targets if isinstance(node, ast.Assign) else
                   [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
        for t in targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Name):
                    out.setdefault(n.id, []).append(node.lineno)
    return {k: sorted(set(v)) for k, v in out.items()}


def where(name, lines_of) -> str:
    lines = lines_of.get(name)
    if not lines:
        return name
    also = f"; {name} is also assigned on line{'s' if len(lines) > 2 else ''} " + ", ".join(
        map(str, lines[:-1])) if len(lines) > 1 else ""
    return f"line {lines[-1]} ({name}{also})"


def assess(ex, points, report, submission="", source=None) -> Grade:
    """Grade the report of one submission (``{"calls": [...], "error": ...}``) at ``points``."""
    info = {"points": [plain_point(p) for p in points],
            "output": (report.get("output") or "")[:MAX_SHOWN_OUTPUT]}
    if report.get("error"):
        return failed(ex, submission, report["error"], **info)
    calls = report.get("calls", [])
    if len(calls) != len(points):
        return failed(ex, submission, "the submission's results are incomplete", **info)
    keys = [ex.key(p) for p in points]
    for p, k in zip(points, keys):
        ex.verify(p, k)

    def ok(a, b):
        return agree(a, b, ex.rtol, ex.atol)

    errors = [c["error"] for c in calls if "error" in c]
    labels, notes = [], []
    if (errors and ex.vector and "NotImplementedError" not in errors[0]
            and any(w in errors[0].lower() for w in SHAPE_WORDS)):
        labels.append("transpose")
    if errors and all(e.startswith("not implemented yet") for e in errors):
        return failed(ex, submission, "not attempted: backward still raises NotImplementedError", **info)
    if errors and len(errors) == len(calls):
        return failed(ex, submission, errors[0], labels, **info)
    if errors:
        notes.append(f"error at {len(errors)} of {len(points)} points: {errors[0]}")
    outs = [(_returned(ex, c["returned"]) if "returned" in c else None) for c in calls]
    if any(o is None for o, c in zip(outs, calls) if "error" not in c):
        notes.append(f"backward should return {len(ex.outputs)} values: ({', '.join(ex.outputs)})")
    swapped = _swap(ex, outs, keys, ok)
    if swapped:
        labels.append("return-order")
        notes.append(f"your values are right but returned as ({', '.join(swapped)}); "
                     f"return ({', '.join(ex.outputs)})")
    tests = []
    for name in ex.outputs:
        good = [o is not None and ok(o.get(name), k.outputs[name]) for o, k in zip(outs, keys)]
        wrong = next((i for i, g in enumerate(good) if not g and outs[i] is not None), None)
        msg = f"correct at {sum(good)} of {len(good)} points"
        if wrong is not None:
            msg += (f"; at {_at(points[wrong], wrong)} your {name} "
                    + _why_wrong(outs[wrong][name], keys[wrong].outputs[name]))
        elif notes:
            msg += "; " + notes[0]
        tests.append(_test(ex, name, sum(good) / len(good), msg))
    locs = [c.get("locals", {}) for c in calls]
    lines_of = assignments(source)
    line_msg, first, rows, loop_labels = "", None, [], ()
    if ex.has_lines and not errors and ex.has_loops:  # compared step by step (derive.teach.loop_lines)
        looped = loop_lines.grade(ex, points, keys, calls, outs, source, ok, _show, _at)
        tests.append(_test(ex, "lines", looped.fraction, looped.message))
        loop_labels = looped.labels
        if looped.wrong:
            notes.append(looped.message)
    elif ex.has_lines and not errors:
        frac, line_msg, first, rows = _lines(ex, points, keys, locs, lines_of, ok)
        tests.append(_test(ex, "lines", frac, line_msg))
    elif ex.has_lines:
        tests.append(_test(ex, "lines", 0.0, "not graded: " + notes[0]))
    if any(t["score"] < t["max_score"] for t in tests) and not errors and not swapped:
        labels += list(loop_labels) + _diagnose(ex, points, keys, outs, locs, first, ok, notes, lines_of)
    labels = list(dict.fromkeys(labels))
    score = round(sum(t["score"] for t in tests), 4)
    message = "; ".join(notes + ([line_msg] if first else []))
    return Grade(submission, score, float(sum(_weights(ex).values())), tests, labels, message,
                 exercise=ex.name, rows=rows, **info)


def _lines(ex, points, keys, locs, lines_of, ok):
    """The lines test: each reference backward line found by value among the learner's own
    variables (not the template's). Returns (fraction, message, first wrong name, table rows)."""
    given = ex.template_names | set(ex.params)
    own = [n for n in locs[0] if n not in given and all(n in loc for loc in locs)]
    for name in keys[0].forward:  # an edited forward line is the first thing wrong
        if all(name in loc for loc in locs):
            for i, (loc, key) in enumerate(zip(locs, keys)):
                if not ok(loc[name], key.forward[name]):
                    msg = (f"first wrong forward value: {name} at {_at(points[i], i)} "
                           + _why_wrong(loc[name], key.forward[name]) + f" ({where(name, lines_of)})")
                    return 0.0, msg, name, []
    rows, right, first, used = [], 0, None, set()
    refs = set(keys[0].adjoints)
    for ref in keys[0].adjoints:  # a variable of the line's own name must hold it; else any
        # other variable of the learner's (not named after another line) credits one line
        found = [n for n in ([ref] if ref in own else [n for n in own if n not in refs | used])
                 if all(ok(loc[n], k.adjoints[ref]) for loc, k in zip(locs, keys))]
        mine = found[0] if found else None
        used.add(mine)
        rows.append({"line": ref, "name": mine or (ref if ref in own else ""), "ok": bool(mine),
                     "yours": _show(locs[0][mine or ref]) if (mine or ref) in locs[0] else "",
                     "expected": _show(keys[0].adjoints[ref])})
        right += bool(mine)
        if not mine and first is None:
            first = ref
    total = len(rows)
    frac = right / total if total else 0.0
    named = [r["name"] if r["name"] == r["line"] else f"{r['name']} (= {r['line']})" for r in rows if r["ok"]]
    msg = f"{right} of {total} backward lines right" + (f": {', '.join(named)}" if named else "")
    if first is None:
        return frac, msg, None, rows
    i = 0
    if first in own:
        i = next((j for j, (loc, k) in enumerate(zip(locs, keys)) if not ok(loc[first], k.adjoints[first])), 0)
        msg = (f"{msg}; first wrong line: {where(first, lines_of)} at {_at(points[i], i)} is "
               f"{_show(locs[i][first])} but should be {_show(keys[i].adjoints[first])}")
    else:
        msg += (f"; first missing line: none of your variables holds {first} "
                f"(at {_at(points[0], 0)} it is {_show(keys[0].adjoints[first])})")
    return frac, msg, first, rows


def _diagnose(ex, points, keys, outs, locs, first, ok, notes, lines_of):
    """Labels that reproduce the learner's numbers: line by line (scalar exercises), then the
    whole-program variants, each only if it matches every wrong output and named line."""
    labels = []
    judge = ex.line_judge
    if judge is not None:
        for name, found in judge.judge(points, locs, ok):
            labels += found
            if found == ["wrong-local-gradient"]:
                notes.append(f"the local gradient in {where(name, lines_of)} is wrong: "
                             f"its gate is {judge.gate(name)}")
    wrong_outputs = [n for n in ex.outputs
                     if not all(o is not None and ok(o.get(n), k.outputs[n]) for o, k in zip(outs, keys))]
    variants = [ex.variants(p) for p in points]
    for j, (label, _) in enumerate(variants[0] if variants else []):
        per_point = [v[j][1] for v in variants]
        if label in labels or any(vk is None for vk in per_point):
            continue
        explains = all(o is not None and ok(o.get(n), vk.outputs[n])
                       for n in wrong_outputs for o, vk in zip(outs, per_point))
        if first is not None and first in locs[0]:
            kind = "forward" if first in keys[0].forward else "adjoints"
            explains = (explains or not wrong_outputs) and all(
                first in getattr(vk, kind) and ok(loc[first], getattr(vk, kind)[first])
                for vk, loc in zip(per_point, locs))
        if explains and (wrong_outputs or (first is not None and first in locs[0])):
            labels.append(label)  # a label explains a wrong number, never a missing line
    if ex.vector:
        for n in wrong_outputs:
            if all(o is not None and as_array(o.get(n)) is not None
                   and ok(as_array(o.get(n)).T, k.outputs[n]) for o, k in zip(outs, keys)):
                labels.append("transpose")
    return labels
