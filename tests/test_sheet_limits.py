"""Sheets of deep functions end: the symbolic side is budgeted or skipped, the paths capped."""
import io

import pypdf
import sympy as sp

from derive import stage
from derive.symbolic.families import logistic
from derive.symbolic.metrics import count_ops
from derive.symbolic.paths import count_paths
from derive.sheets.sheet import MAX_PATHS, render, sheets_for, sum_over_paths, symbolic_side
from tests.conftest import assert_one_line_error, run_cli


def words(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_logistic_depth_40_sheet_is_written_and_says_too_large(tmp_path):
    src = tmp_path / "deep.py"
    src.write_text(logistic(40))
    out = tmp_path / "deep.pdf"
    proc = run_cli("sheet", f"{src}:logistic", "--at", "x=0.3", "-o", str(out), timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = words(out.read_bytes())
    assert "SymPy's gradient was not computed" in text
    assert "too large to differentiate or print" in text
    assert "the staged program takes 310 operations (117 forward + 193 backward)" in text
    assert f"and {2 ** 39 - MAX_PATHS} more paths" in text
    assert "l40 = " in text and "dx += " in text         # the staged side is all there


def test_too_large_function_is_not_given_to_sympy():
    prog = stage(logistic(40))
    derivs, sizes, swell = symbolic_side(prog)
    assert derivs == [] and sizes["symbolic_ops"] is None
    assert sizes["symbolic_status"].startswith("too large")
    assert sizes["staged_ops"] == 310 and "expression swell" in swell


def test_sympy_gives_up_after_the_budget_and_the_page_says_so():
    prog = stage(logistic(12))             # sympy.diff + count_ops take seconds here
    text = words(render(sheets_for(prog, {"x": 0.3}, budget=0.5)))
    assert "SymPy's gradient gave up after 0.5 s" in text
    assert "Size: SymPy's gradient gave up after 0.5 s; the staged program" in text


def test_large_derivative_is_measured_but_not_printed():
    prog = stage(logistic(8))
    derivs, sizes, swell = symbolic_side(prog)
    x = sp.Symbol("x", real=True)
    e = x
    for _ in range(7):
        e = 4 * e * (1 - e)
    assert sizes["symbolic_ops"] == count_ops([sp.diff(e, x)])
    assert derivs == [] and f"too large to print here ({sizes['symbolic_ops']} operations)" in swell


def test_exponentially_many_paths_are_counted_not_listed():
    prog = stage(logistic(40))
    assert count_paths(prog)[prog.inputs[0]] == 2 ** 39
    result = prog.run(exact=True, x=0.3)
    [block] = sum_over_paths(prog, result, symbolic=False)
    assert len(block["rows"]) == MAX_PATHS and block["more"] == 2 ** 39 - MAX_PATHS
    assert block["agrees"] is False and block["total"] == result.grad["x"]


def test_bad_budget_is_one_line(tmp_path):
    proc = run_cli("sheet", "x*y", "--at", "x=1,y=2", "--budget", "-1", "-o", str(tmp_path / "a.pdf"))
    assert_one_line_error(proc, "time budget")
