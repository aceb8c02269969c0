"""The benchmark script stays alive: --quick runs and writes its JSON (timings are not checked).

Also checks the gradient code being timed (the micrograd-style tape, derive's compiled
gradient function) against sympy.diff and central differences, since the timings are only
meaningful if every peer computes the same gradient.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from benchmarks import micrograd, peers
from derive.symbolic.families import build
from derive.staging.staged import stage

ROOT = Path(__file__).resolve().parent.parent
CASES = [("logistic", 4), ("nested-sigmoid", 3), ("mlp", 2), ("product", 5), ("cs231n", 2)]


def _case(family, n):
    from benchmarks.scalar import point

    inst = build(family, n)
    prog = stage(inst.text)
    pt = point(prog, inst.domain, seed=3)
    return prog, pt, [pt[name] for name, _ in prog.params]


def _references(prog, pt):
    """sympy.diff of the whole expression, and central differences, flattened in input order."""
    flat = peers.flat_point(prog, pt)
    expr = peers.plain_expr(prog)
    subs = dict(zip(prog.inputs, flat))
    symbolic = [float(sp.diff(expr, s).evalf(subs=subs)) for s in prog.inputs]
    f = sp.lambdify(prog.inputs, expr, "math")
    h, central = 1e-6, []
    for i in range(len(flat)):
        up, dn = list(flat), list(flat)
        up[i] += h
        dn[i] -= h
        central.append((f(*up) - f(*dn)) / (2 * h))
    return symbolic, central


@pytest.mark.parametrize("family,n", CASES)
def test_tape_and_compiled_gradient_match_sympy_and_central_differences(family, n):
    prog, pt, args = _case(family, n)
    symbolic, central = _references(prog, pt)
    tape = micrograd.grad(peers.forward_function(prog, micrograd.NAMESPACE))(*args)
    fast = prog.gradient_function()(*args)
    assert peers.close(tape, symbolic, 1e-9)
    assert peers.close(fast, symbolic, 1e-9)
    assert peers.close(fast, central, 1e-5)
    assert peers.close(tape, central, 1e-5)


def test_micrograd_accumulates_at_forks():
    x = micrograd.Value(3.0)
    y = x * x + x / (x + 1)        # x is used four times
    y.backward()
    assert y.data == pytest.approx(9.75)
    assert x.grad == pytest.approx(2 * 3 + 1 / 16)


def test_quick_run_writes_json_and_plots(tmp_path):
    out, plots = tmp_path / "bench.json", tmp_path / "plots"
    proc = subprocess.run([sys.executable, "benchmarks/run.py", "--quick", "--json", str(out),
                           "--plots", str(plots)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    data = json.loads(out.read_text())
    assert data["mode"] == "quick"
    assert {"machine", "versions", "vector", "grading", "scale", "ratios"} <= set(data)
    assert {r["family"] for r in data["scalar"]} == {"logistic", "nested-sigmoid", "mlp", "product", "cs231n"}
    for row in data["scalar"]:
        assert "derive" in row["evaluation"] and "stage" in row["production"]
        assert row["ops"]["backward"] <= 3 * row["ops"]["forward"]
    assert data["targets"] and all({"target", "measured", "met"} <= set(t) for t in data["targets"])
    assert "(2) time per gradient evaluation" in proc.stdout
    assert sorted(p.name for p in plots.iterdir()) == sorted(f"{r}.png" for r in
                                                             {"logistic", "nested-sigmoid", "mlp", "product", "cs231n"})
    again = subprocess.run([sys.executable, "benchmarks/run.py", "--report", str(out)], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "targets (ratios of medians, this run)" in again.stdout


def test_unknown_family_is_a_clear_error():
    proc = subprocess.run([sys.executable, "benchmarks/run.py", "--quick", "--families", "nope"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "unknown family nope" in proc.stderr
    assert "Traceback" not in proc.stderr
