"""derive.compare, derive.families, derive.baydin, and the compare / swell commands."""
import json
import os
import subprocess
import sys

import pytest
import sympy as sp

from derive import stage
from derive.symbolic.baydin import X, logistic, table
from derive.cli.commands._source import load_target
from derive.symbolic.compare import compare, swell
from derive.core.errors import DeriveError
from derive.symbolic.families import FAMILIES, build, family
from derive.symbolic.metrics import program_metrics
from derive.symbolic.derivatives import form

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORM_NAMES = ["raw", "simplified", "expanded", "cse", "staged"]

# Baydin et al. 2018, Table 1, as printed in the paper (ASCII: ^ for powers, - for minus)
BAYDIN = [
    ("x", "1", "1"),
    ("4x(1 - x)", "4(1 - x) - 4x", "4 - 8x"),
    ("16x(1 - x)(1 - 2x)^2",
     "16(1 - x)(1 - 2x)^2 - 16x(1 - 2x)^2 - 64x(1 - x)(1 - 2x)",
     "16(1 - 10x + 24x^2 - 16x^3)"),
    ("64x(1 - x)(1 - 2x)^2(1 - 8x + 8x^2)^2",
     "128x(1 - x)(-8 + 16x)(1 - 2x)^2(1 - 8x + 8x^2) + 64(1 - x)(1 - 2x)^2(1 - 8x + 8x^2)^2"
     " - 64x(1 - 2x)^2(1 - 8x + 8x^2)^2 - 256x(1 - x)(1 - 2x)(1 - 8x + 8x^2)^2",
     "64(1 - 42x + 504x^2 - 2640x^3 + 7040x^4 - 9984x^5 + 7168x^6 - 2048x^7)"),
]


def cli(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def assert_one_line_error(proc, text):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("derive: error:") and text in lines[0], proc.stderr


# ---- Baydin et al.'s table ---------------------------------------------------------------
def test_baydin_table_verbatim():
    rows = table(4)
    assert [(r.l, r.derivative, r.simplified) for r in rows] == BAYDIN


def test_baydin_table_is_right():
    for r in table(4):
        l = logistic(r.n)
        assert sp.expand(r.l_expr - l) == 0
        assert sp.expand(sp.Add(*r.terms) - sp.diff(l, X)) == 0      # the product rule's terms
        assert r.simplified_expr == sp.expand(sp.diff(l, X))
        assert len(r.terms) == r.n                                  # one per factor


# ---- families ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_gradients_agree(name):
    for n in (1, 2):
        prog = stage(build(name, n).text)
        f = form(prog, "raw", budget=20, points=[_point(prog, name)])
        staged = _flat(prog.run(exact=True, **_point(prog, name)).grad)
        assert f.values[0] == pytest.approx(staged, rel=1e-9, abs=1e-12)


def _point(prog, name):
    lo, hi = family(name).domain
    mid, step = (lo + hi) / 2, (hi - lo) / 7
    vals = iter(mid + step * ((k % 5) - 2) / 2 for k in range(1000))
    return {n: (next(vals) if s is None else [next(vals) for _ in range(s)]) for n, s in prog.params}


def _flat(grad):
    out = []
    for v in grad.values():
        out += v if isinstance(v, list) else [v]
    return out


def test_cs231n_family_starts_with_the_notes_function():
    prog = stage(build("cs231n", 1).text)
    assert prog.run(exact=True, x=3, y=-4).grad == {"x": 2.059569795572165, "y": 1.5922327514838093}


@pytest.mark.parametrize("name", list(FAMILIES))
def test_staged_size_is_linear_and_cheap(name):
    ops = [program_metrics(stage(build(name, n).text))["ops"] for n in range(2, 7)]
    steps = [b - a for a, b in zip(ops, ops[1:])]
    if name == "two-layer":            # d = n: the staged size grows like d^2, second differences constant
        assert len({b - a for a, b in zip(steps, steps[1:])}) == 1
    else:
        assert len(set(steps)) == 1, ops  # linear in depth
    for n in range(1, 6):
        m = program_metrics(stage(build(name, n).text))
        assert m["ratio"] is None or m["ratio"] <= 3, (name, n, m["ratio"])


def test_hand_counted_family_sizes():
    for n in range(2, 9):
        assert program_metrics(stage(build("logistic", n).text))["ops"] == 8 * n - 10
        assert program_metrics(stage(build("product", n).text))["ops"] == 3 * n - 5
        assert program_metrics(stage(build("nested-sigmoid", n).text))["ops"] == 4 * n - 1


def test_symbolic_size_is_superlinear():
    sw = swell("product", 7, budget=20, min_n=3, forms=("raw",))
    raw = [r["forms"]["raw"]["ops"] for r in sw.rows]
    assert raw == [n * (n - 2) for n in range(3, 8)]          # n components of n - 2 products
    sw = swell("logistic", 7, budget=20, min_n=2, forms=("raw",))
    raw = [r["forms"]["raw"]["ops"] for r in sw.rows]
    steps = [b - a for a, b in zip(raw, raw[1:])]
    assert all(b > 2 * a for a, b in zip(steps, steps[1:]))   # faster than geometric doubling


@pytest.mark.parametrize("bad,msg", [(("nope", 3), "unknown family"), (("logistic", 0), "at least 1"),
                                     (("logistic", -2), "at least 1"), (("logistic", 2.5), "whole number"),
                                     (("product", 3, 4), None)])
def test_family_bad_input(bad, msg):
    with pytest.raises((DeriveError, TypeError)):
        build(*bad)


def test_width_is_for_mlp_only():
    assert "W1[8]" in build("mlp", 1, width=3).text
    with pytest.raises(DeriveError, match="does not apply"):
        build("logistic", 2, width=3)


# ---- compare and swell -------------------------------------------------------------------
def test_compare_table_and_json():
    c = compare("(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)", budget=20)
    d = c.as_dict()
    assert list(d["forms"]) == FORM_NAMES
    for name, obj in d["forms"].items():
        assert obj["status"] == "ok" and obj["agrees"] is True, name
        assert isinstance(obj["ops"], int)
    assert d["forms"]["staged"]["forward_ops"] == 7 and d["forms"]["staged"]["backward_ops"] == 15
    assert d["central_differences_agree"] is True
    assert [t["wrt"] for t in d["total_derivative"]] == ["x", "y"]
    text = c.to_text()
    assert "total derivative" in text and "+=" in text and "single-variable chain rule" in text
    json.loads(c.to_json())


def test_swell_json_shape_and_gave_up():
    sw = swell("logistic", 4, budget=20)
    d = sw.as_dict()
    assert d["family"] == "logistic" and [r["n"] for r in d["rows"]] == [1, 2, 3, 4]
    for r in d["rows"]:
        assert list(r["forms"]) == FORM_NAMES
        assert "forward_ops" in r["forms"]["staged"] and "backward_ops" in r["forms"]["staged"]
        assert all(o["agrees"] in (True, None) for o in r["forms"].values())
    assert d["rows"][2]["forms"]["raw"]["ops"] == 21 and d["rows"][2]["forms"]["staged"]["ops"] == 14


def test_swell_skips_what_gave_up_and_keeps_the_staged_side_going():
    sw = swell("logistic", 9, budget=1, min_n=8, forms=("expanded",))   # expand takes ~8 s at n = 8
    first, second = sw.rows
    assert first["forms"]["expanded"]["status"] == "gave up after 1 s"
    assert first["forms"]["expanded"]["ops"] is None
    assert second["forms"]["expanded"]["status"] == "skipped: gave up at n = 8"
    deep = swell("logistic", 50, min_n=50, forms=())
    assert deep.rows[0]["forms"]["staged"]["ops"] == 8 * 50 - 10


def test_swell_plot(tmp_path):
    sw = swell("product", 4, budget=20, min_n=2)
    out = tmp_path / "swell.png"
    sw.plot(str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- the shared command-line helper ------------------------------------------------------
def test_load_target(tmp_path):
    src = tmp_path / "f.py"
    src.write_text("import os\n\ndef g(x):\n    return x*x\n\ndef f(x, y):\n    a = x*y\n    return a + x\n")
    prog = load_target(f"{src}:f", "grouped")
    assert prog.run(x=2, y=3).grad == {"x": 4.0, "y": 2.0}
    assert load_target(f"{src}:g", "grouped").run(x=3).grad == {"x": 6.0}
    assert load_target("x*y", "grouped").run(x=2, y=5).grad == {"x": 5.0, "y": 2.0}
    with pytest.raises(DeriveError, match="no such file"):
        load_target(str(tmp_path / "missing.py") + ":f", "grouped")
    with pytest.raises(DeriveError, match="no function named 'h'"):
        load_target(f"{src}:h", "grouped")


# ---- the commands ------------------------------------------------------------------------
def test_cli_swell_json():
    proc = cli("swell", "product", "--max", "4", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["family"] == "product" and data["rows"][-1]["n"] == 4
    assert data["rows"][-1]["forms"]["raw"]["ops"] == 8


def test_cli_swell_table_and_plot(tmp_path):
    out = tmp_path / "p.png"
    proc = cli("swell", "product", "--max", "2", "--plot", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "staged" in proc.stdout and "bwd/fwd" in proc.stdout and out.exists()


def test_cli_compare(tmp_path):
    src = tmp_path / "f.py"
    src.write_text("def f(x, y):\n    q = x + y\n    return q*q*x\n")
    proc = cli("compare", f"{src}:f", "--json", "--at", "x=1, y=2")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert list(data["forms"]) == FORM_NAMES and data["forms"]["staged"]["agrees"] is True


def test_compare_text_in_process(capsys):
    from derive.cli.main import main

    assert main(["compare", "x*sin(x)"]) == 0
    out = capsys.readouterr().out
    assert "cse" in out and "total derivative" in out and "+=" in out


@pytest.mark.parametrize("args,text", [
    (("swell", "nope", "--max", "3"), "unknown family"),
    (("swell", "logistic", "--max", "-1"), "negative"),
    (("swell", "logistic", "--max", "3", "--budget", "0"), "budget"),
])
def test_cli_bad_input_subprocess(args, text):
    assert_one_line_error(cli(*args), text)


@pytest.mark.parametrize("args,text", [
    (("swell", "logistic", "--max", "three"), "whole number"),
    (("swell", "logistic", "--max", "3", "--budget", "nan"), "budget"),
    (("swell", "logistic", "--max", "3", "--width", "2"), "does not apply"),
    (("swell", "mlp", "--max", "3", "--width", "0"), "--width"),
    (("swell", "logistic", "--max", "3", "--plot", "out.txt"), "--plot"),
    (("swell", "logistic"), "--max"),
    (("compare", "x*y", "--budget", "-1"), "budget"),
    (("compare", "missing_file.py:f"), "no such file"),
    (("compare", "x +"), "syntax error"),
    (("compare", "x*y", "--at", "x=1"), "missing value for y"),
])
def test_cli_bad_input(args, text, capsys):
    from derive.cli.main import main

    assert main(list(args)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("derive: error:") and text in err[0], err


def test_cli_missing_function(tmp_path, capsys):
    from derive.cli.main import main

    src = tmp_path / "f.py"
    src.write_text("def f(x):\n    return x\n")
    assert main(["compare", f"{src}:g"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no function named 'g'" in err[0]
