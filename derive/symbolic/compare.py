"""Symbolic versus staged, side by side: one function's table, and swell over a family's depths.

``compare(f)``: rows raw / simplified / expanded / cse (``derive.symbolic.derivatives``) and staged, columns
the size metrics (``derive.symbolic.metrics``) plus the time to produce each form; every form is
evaluated at random points and checked against the staged gradient, and the staged gradient
against central differences. When an input reaches the output along several paths, the
total derivative is shown path by path (``derive.symbolic.paths``).

``swell(family, max_n)``: the same forms for each depth of a family (``derive.families``);
a form that gives up at depth n is not tried at larger depths; the staged side keeps going.
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field

from derive.symbolic.budget import DEFAULT_BUDGET, check_budget
from derive.oracle.central import central_columns, central_difference
from derive.core.errors import DeriveError
from derive.symbolic.metrics import METRICS, program_metrics
from derive.symbolic.paths import total_derivative  # noqa: F401  (public: derive.total_derivative)
from derive.symbolic.derivatives import FORMS, Form, form, program
from derive.staging.evaluate import run_many
from derive.symbolic.paths import count_paths
from derive.symbolic.paths import paths
from derive.symbolic.families import family
from derive.symbolic.plots import swell_plot

ROWS = FORMS + ("staged",)
STAGED_EXTRA = ("forward_lines", "backward_lines", "forward_ops", "backward_ops", "ratio")
RTOL = 1e-8


def _flat(grad: dict) -> list:
    out = []
    for v in grad.values():
        out += list(v) if isinstance(v, list) else [v]
    return out


def _close(a, b, rtol=RTOL) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= rtol * max(1.0, abs(y)) for x, y in zip(a, b))


def sample_points(prog, k: int = 3, seed: int = 0, domain=(-2.0, 2.0), tries: int = 200) -> list:
    """``k`` random points where the staged program evaluates to finite numbers (seeded)."""
    rng = random.Random(seed)
    lo, hi = domain
    out = []
    for _ in range(tries):
        if len(out) == k:
            break
        pt = {n: (round(rng.uniform(lo, hi), 6) if s is None else [round(rng.uniform(lo, hi), 6) for _ in range(s)])
              for n, s in prog.params}
        try:
            res = prog.run(**pt)
        except DeriveError:
            continue
        if all(abs(v) < 1e300 for v in _flat(res.grad) + [res.value]):
            out.append(pt)
    if len(out) < k:
        raise DeriveError("could not find points where the function and its gradient are finite")
    return out


def staged_gradients(prog, points) -> list:
    """The staged gradient at each point, correctly rounded (flattened in input order)."""
    return [_flat(prog.run(exact=True, **pt).grad) for pt in points]


def central_differences(prog, point, h: float = 1e-6, batch: int = 128) -> list:
    """Central differences of the function value, one input at a time (``central_columns``).

    The moved points are evaluated together with NumPy, so the cost is a few passes over the
    program rather than two runs per input. An input whose difference is not finite is redone
    with ``run`` (which names the problem).
    """

    coords = [(name, i) for name, size in prog.params for i in ([None] if size is None else range(size))]
    base = [float(point[name] if i is None else point[name][i]) for name, i in coords]

    def f_many(X):
        cols, row = {}, 0
        for name, size in prog.params:
            cols[name] = X[row] if size is None else list(X[row:row + size])
            row += 1 if size is None else size
        return run_many(prog, cols)[0]

    return [_one_difference(prog, point, name, i, h) if d is None else d
            for (name, i), d in zip(coords, central_columns(f_many, base, h, batch))]


def _one_difference(prog, point, name, i, h):
    """One input's difference by ``derive.oracle.central`` (``run`` names a domain error or overflow)."""
    d = central_difference(lambda pt: prog.run(**pt).value, point, name, h, relative=True)
    return d if i is None else d[i]


def form_object(f: Form | None, staged_metrics=None, seconds=None, agrees=None) -> dict:
    """A form as JSON: its metrics by name (null where it gave up), seconds, status, agrees."""
    if staged_metrics is not None:
        obj = {k: staged_metrics[k] for k in METRICS + STAGED_EXTRA}
        obj.update(seconds=seconds, status="ok", agrees=agrees)
        return obj
    obj = {k: (f.metrics[k] if f.metrics else None) for k in METRICS}
    obj.update(seconds=f.seconds, status=f.status, agrees=agrees)
    return obj


@dataclass
class Comparison:
    """The table of ``compare(f)`` plus the checks and total derivatives behind it."""

    prog: object
    forms: dict                 # name -> JSON-ready form object (ROWS order)
    points: list
    fd_agrees: bool | None
    totals: list = field(default_factory=list)   # TotalDerivative per forking input
    many_paths: dict = field(default_factory=dict)  # input -> path count, when too many to show

    def as_dict(self) -> dict:
        return {"function": self.prog.source, "inputs": [s.name for s in self.prog.inputs],
                "points": self.points, "forms": self.forms,
                "central_differences_agree": self.fd_agrees,
                "total_derivative": [t.as_dict() for t in self.totals],
                "paths": {k: v for k, v in self.many_paths.items()}}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def to_text(self) -> str:
        prog = self.prog
        args = ", ".join(n for n, _ in prog.params)
        src = prog.source or ""
        if "\n" in src or src.isidentifier() or src.endswith(".py") or not src:
            src = "(a straight-line Python function)"
        wrt = ", ".join(s.name for s in prog.inputs) or "nothing (no inputs)"
        out = [f"{prog.output}({args}) = {src}",
               f"gradient with respect to {wrt}; each form checked "
               f"against the staged gradient at {len(self.points)} random points", ""]
        out += table(self.forms)
        st = self.forms["staged"]
        out += ["", f"staged: {_lines(st['forward_lines'], 'forward')} ({st['forward_ops']} ops), "
                    f"{_lines(st['backward_lines'], 'backward')} ({st['backward_ops']} ops); "
                    f"backward/forward ops = {_num(st['ratio'])}",
                f"staged gradient vs central differences: {_yes(self.fd_agrees)}"]
        for t in self.totals:
            out += ["", "total derivative (a value forks, so its gradients add):", t.to_text()]
        for name, n in self.many_paths.items():
            out += ["", f"total derivative d{prog.output}/d{name}: {n} paths (too many to list)"]
        return "\n".join(out)

    def __str__(self):
        return self.to_text()


def _lines(n, what):
    return f"{n} {what} line{'s' * (n != 1)}"


def _yes(v):
    return {True: "yes", False: "NO", None: "-"}[v]


def _num(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}" if v < 100 else f"{v:.0f}"
    return f"{v:,}"


def table(forms: dict) -> list:
    cols = METRICS + ("seconds", "agrees")
    rows = [("form",) + cols]
    for name, obj in forms.items():
        if obj["status"] != "ok":
            rows.append((name, obj["status"]) + ("",) * (len(cols) - 1))
        else:
            rows.append((name,) + tuple(_num(obj[c]) for c in METRICS) + (_num(obj["seconds"]), _yes(obj["agrees"])))
    widths = [max(len(r[i]) for r in rows if len(r) > i and not (r[1].startswith(("gave", "skip", "error")) and i == 1))
              for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        if len(r) > 1 and r[1].startswith(("gave", "skip", "error")):
            lines.append(f"{r[0]:<{widths[0]}}  {r[1]}")
        else:
            lines.append("  ".join([f"{r[0]:<{widths[0]}}"] + [f"{c:>{w}}" for c, w in zip(r[1:], widths[1:])]).rstrip())
    return lines


def compare(f, budget: float = DEFAULT_BUDGET, points: int = 3, seed: int = 0, domain=(-2.0, 2.0),
            gates: str = "grouped", at=None, max_paths: int = 8) -> Comparison:
    """Symbolic forms against the staged program for one function (anything ``stage`` accepts)."""

    budget = check_budget(budget)
    t0 = time.perf_counter()
    prog = program(f, gates)
    staged_seconds = time.perf_counter() - t0
    pts = sample_points(prog, points, seed, domain)
    ref = staged_gradients(prog, pts)
    objs = {}
    for name in FORMS:
        if name != "raw" and objs["raw"]["status"] != "ok":
            objs[name] = form_object(Form(name, "skipped: no raw derivative"))
            continue
        fm = form(prog, name, budget, pts)
        agrees = all(_close(v, r) for v, r in zip(fm.values, ref)) if fm.ok else None
        objs[name] = form_object(fm, agrees=agrees)
    fd = all(_close(central_differences(prog, p), r, 1e-5) for p, r in zip(pts, ref))
    raw_ok = objs["raw"]["agrees"]
    objs["staged"] = form_object(None, program_metrics(prog), staged_seconds, raw_ok)
    counts = count_paths(prog)
    totals, many = [], {}
    for s in prog.inputs:
        n = counts.get(s, 0)
        if 1 < n <= max_paths:
            totals.append(paths(prog, s.name, at if at is not None else pts[0]))
        elif n > max_paths:
            many[s.name] = n
    return Comparison(prog, objs, pts, fd, totals, many)


# ---- swell over a family -------------------------------------------------------------
@dataclass
class Swell:
    family: str
    rows: list          # [{"n": n, "forms": {name: form object}}]
    budget: float
    options: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"family": self.family, "rows": self.rows}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def to_text(self, metric: str = "ops") -> str:

        head = [f"{self.family}: {family(self.family).title}",
                f"gradient size ({metric}) by depth; symbolic forms under a {self.budget:g} s budget "
                f"each; every form checked against the staged gradient", ""]
        cols = ["n"] + list(ROWS) + ["fwd", "bwd", "bwd/fwd"]
        rows = [cols]
        notes = []
        for r in self.rows:
            cells = [str(r["n"])]
            for name in ROWS:
                o = r["forms"][name]
                if o["status"] == "ok":
                    cells.append(_num(o[metric]) + ("" if o["agrees"] in (True, None) else " (!)"))
                elif o["status"].startswith("gave up"):
                    cells.append("gave up")
                    notes.append(f"n = {r['n']}: {name} {o['status']}")
                else:
                    cells.append("-")
            st = r["forms"]["staged"]
            cells += [_num(st["forward_ops"]), _num(st["backward_ops"]), _num(st["ratio"])]
            rows.append(cells)
        widths = [max(len(row[i]) for row in rows) for i in range(len(cols))]
        lines = ["  ".join(f"{c:>{w}}" for c, w in zip(row, widths)) for row in rows]
        ratios = [r["forms"]["staged"]["ratio"] for r in self.rows if r["forms"]["staged"]["ratio"]]
        tail = ["", "- : not tried (it gave up at a smaller depth)"] if any(
            o["status"].startswith("skipped") for r in self.rows for o in r["forms"].values()) else []
        if ratios:
            tail.append(f"cost ratio backward/forward ops: at most {max(ratios):.2f} (cheap-gradient principle: <= 3)")
        bad = [f"n = {r['n']}: {k}" for r in self.rows for k, o in r["forms"].items() if o["agrees"] is False]
        tail += [f"DISAGREES with the staged gradient: {', '.join(bad)}"] if bad else []
        return "\n".join(head + lines + tail + ([""] + notes if notes else []))

    def __str__(self):
        return self.to_text()

    def plot(self, path=None, metric: str = "ops"):

        return swell_plot(self, path, metric)


def swell(name: str, max_n: int, budget: float = DEFAULT_BUDGET, min_n: int | None = None,
          points: int = 2, seed: int = 0, gates: str = "grouped", forms=FORMS, progress=None,
          **options) -> Swell:
    """Measure every form of the gradient for depths ``min_n..max_n`` of a family."""

    fam = family(name)
    budget = check_budget(budget)
    if isinstance(max_n, bool) or not isinstance(max_n, int) or max_n < 0:
        raise DeriveError(f"depth must be a non-negative whole number, got {max_n!r}")
    lo = fam.min_n if min_n is None else min_n
    if max_n < lo:
        raise DeriveError(f"--max must be at least {lo} for {name}, got {max_n}")
    stopped: dict = {}
    rows = []
    for n in range(lo, max_n + 1):
        inst = fam.build(n, **options)
        t0 = time.perf_counter()
        prog = program(inst.text, gates)
        staged_seconds = time.perf_counter() - t0
        pts = sample_points(prog, points, seed + n, inst.domain)
        ref = staged_gradients(prog, pts)
        objs = {}
        for fname in FORMS:
            if fname not in forms:
                objs[fname] = form_object(Form(fname, "skipped: not asked for"))
            elif fname in stopped or (fname != "raw" and "raw" in stopped):
                why = stopped.get(fname, stopped.get("raw"))
                objs[fname] = form_object(Form(fname, f"skipped: gave up at n = {why}"))
            else:
                fm = form(prog, fname, budget, pts)
                if not fm.ok:
                    stopped[fname] = n
                agrees = all(_close(v, r) for v, r in zip(fm.values, ref)) if fm.ok else None
                objs[fname] = form_object(fm, agrees=agrees)
        objs["staged"] = form_object(None, program_metrics(prog), staged_seconds,
                                     objs["raw"]["agrees"])
        rows.append({"n": n, "forms": objs})
        if progress:
            progress(n)
    return Swell(name, rows, budget, {k: v for k, v in options.items() if v is not None})
