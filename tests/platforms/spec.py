"""The platforms' documented results formats, as checks: a list of what is wrong (empty: valid).

Gradescope: "Autograder Specifications" (gradescope-autograders.readthedocs.io, specs/): the
top-level keys score, execution_time, output, output_format, test_output_format,
test_name_format, visibility, stdout_visibility, extra_data, tests, leaderboard; each test's
score, max_score, status, name, name_format, number, output, output_format, tags, visibility,
extra_data. PrairieLearn: docs/externalGrading.md, "Grading results": score in [0, 1] unless
``gradable`` is false, then ``format_errors`` (a string or a list of strings); tests with name,
description, points, max_points, message, output, images; the file at most 1 MB.
"""
import json
from numbers import Real

VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
GS_TOP = {"score", "execution_time", "output", "output_format", "test_output_format",
          "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
GS_TEST = {"score", "max_score", "status", "name", "name_format", "number", "output",
           "output_format", "tags", "visibility", "extra_data"}
PL_TEST = {"name", "description", "points", "max_points", "message", "output", "images"}


def _number(v):
    return isinstance(v, Real) and not isinstance(v, bool)


def gradescope(res) -> list:
    bad = []
    if not isinstance(res, dict):
        return ["results.json is not a JSON object"]
    bad += [f"unknown top-level key {k!r}" for k in set(res) - GS_TOP]
    tests = res.get("tests", [])
    if "score" not in res and not all("score" in t for t in tests if isinstance(t, dict)):
        bad.append("no top-level score and a test without one")
    for key in ("score", "execution_time"):
        if key in res and not _number(res[key]):
            bad.append(f"{key} is not a number: {res[key]!r}")
    if _number(res.get("execution_time", 0)) and res.get("execution_time", 0) < 0:
        bad.append("negative execution_time")
    for key in ("visibility", "stdout_visibility"):
        if key in res and res[key] not in VISIBILITY:
            bad.append(f"{key} {res[key]!r} is not one of {sorted(VISIBILITY)}")
    if "output" in res and not isinstance(res["output"], str):
        bad.append("output is not a string")
    if "extra_data" in res and not isinstance(res["extra_data"], dict):
        bad.append("extra_data is not an object")
    if not isinstance(tests, list):
        return bad + ["tests is not an array"]
    for i, t in enumerate(tests):
        if not isinstance(t, dict):
            bad.append(f"test {i} is not an object")
            continue
        bad += [f"test {i}: unknown key {k!r}" for k in set(t) - GS_TEST]
        for key in ("score", "max_score"):
            if key in t and not _number(t[key]):
                bad.append(f"test {i}: {key} is not a number")
        if t.get("status", "passed") not in ("passed", "failed"):
            bad.append(f"test {i}: status {t['status']!r}")
        if t.get("visibility", "visible") not in VISIBILITY:
            bad.append(f"test {i}: visibility {t['visibility']!r}")
        for key in ("name", "output"):
            if key in t and not isinstance(t[key], str):
                bad.append(f"test {i}: {key} is not a string")
        if _number(t.get("score")) and _number(t.get("max_score")) and t["score"] > t["max_score"]:
            bad.append(f"test {i}: score above max_score")
    return bad


def prairielearn(res, size=None) -> list:
    bad = []
    if not isinstance(res, dict):
        return ["results.json is not a JSON object"]
    if size is None:
        size = len(json.dumps(res).encode())
    if size > 1_000_000:
        bad.append(f"results.json is {size} bytes (limit 1 MB)")
    if res.get("gradable", True) is False:
        errs = res.get("format_errors")
        if not (isinstance(errs, str) or (isinstance(errs, list) and all(isinstance(e, str) for e in errs))):
            bad.append("gradable is false without format_errors (a string or a list of strings)")
        return bad
    if res.get("gradable", True) is not True:
        bad.append("gradable is not a boolean")
    if not _number(res.get("score")) or not 0 <= res["score"] <= 1:
        bad.append(f"score must be a number in [0, 1], not {res.get('score')!r}")
    for key in ("message", "output"):
        if key in res and not isinstance(res[key], str):
            bad.append(f"{key} is not a string")
    for i, t in enumerate(res.get("tests", [])):
        if not isinstance(t, dict):
            bad.append(f"test {i} is not an object")
            continue
        bad += [f"test {i}: unknown key {k!r}" for k in set(t) - PL_TEST]
        if not (_number(t.get("points")) and _number(t.get("max_points")) and 0 <= t["points"] <= t["max_points"]):
            bad.append(f"test {i}: points/max_points {t.get('points')!r}/{t.get('max_points')!r}")
        for key in ("name", "description", "message", "output"):
            if key in t and not isinstance(t[key], str):
                bad.append(f"test {i}: {key} is not a string")
    return bad
