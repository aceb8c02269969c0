"""Derivation sheets: valid PDFs with the seeds' numbers, worksheets and keys, variants, errors."""
import io
import importlib.util
import math

import numpy as np
import pypdf
import pytest
import sympy as sp

from derive import stage
from derive.core.errors import DeriveError
from derive.symbolic.examples import BY_NAME, CS231N_FXY, stage_example
from derive.sheets.sheet import build_sheet, render, sheet, sheets_for, variant_points
from derive.sheets.tex import fmt
from tests.conftest import assert_one_line_error

FXY_AT = {"x": 3, "y": -4}
FXY_NUMBERS = ["1.546", "2.06", "1.592", "0.5121", "-0.7916", "1.547"]   # --digits 4
FXY_LINES = ["sigy = sigmoid(y)", "num = x + sigy", "xpysqr = xpy**2", "f = num/den",
             "dden = -num/den**2", "dxpy = (2*xpy) * dxpysqr", "dx += (sigx*(1 - sigx)) * dsigx",
             "dy += (sigy*(1 - sigy)) * dsigy"]


def text_of(data: bytes):
    reader = pypdf.PdfReader(io.BytesIO(data))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture(scope="module")
def fxy():
    return stage(CS231N_FXY)


@pytest.fixture(scope="module")
def fxy_pdf(fxy):
    return render(sheets_for(fxy, FXY_AT))


@pytest.fixture(scope="module")
def worksheet_and_key(fxy):
    sheets = sheets_for(fxy, FXY_AT, worksheet=True)
    key = sheets_for(fxy, FXY_AT, key=True)
    return render(sheets), render(key)


def test_pdf_is_valid_a4_with_lines_and_seed_numbers(fxy_pdf):
    reader, text = text_of(fxy_pdf)
    assert 1 <= len(reader.pages) <= 4
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    for s in FXY_LINES + FXY_NUMBERS:
        assert s in text, s
    assert "gradients add" in text and "sum over the 3 paths from x to f" in text


def test_same_input_same_bytes(fxy, fxy_pdf):
    again = render(sheets_for(stage(CS231N_FXY), FXY_AT))
    assert again == fxy_pdf
    assert b"CreationDate" not in fxy_pdf and b"ModDate" not in fxy_pdf


def test_sheet_gradient_against_sympy_and_finite_differences(fxy):
    s = build_sheet(fxy, fxy.run(exact=True, **FXY_AT), digits=17)
    from derive.core.rules import sigmoid

    expr = fxy.expr().replace(sigmoid, lambda a: 1 / (1 + sp.exp(-a)))
    f = sp.lambdify(fxy.inputs, expr)
    for (tex, name, value), sym in zip(s.gradient, fxy.inputs):
        exact = float(sp.diff(expr, sym).subs({i: FXY_AT[i.name] for i in fxy.inputs}))
        h = 1e-6
        args = [FXY_AT[i.name] + (h if i == sym else 0) for i in fxy.inputs]
        args2 = [FXY_AT[i.name] - (h if i == sym else 0) for i in fxy.inputs]
        assert float(value) == pytest.approx(exact, rel=1e-14)
        assert float(value) == pytest.approx((f(*args) - f(*args2)) / (2 * h), rel=1e-6)
    short = build_sheet(fxy, fxy.run(exact=True, **FXY_AT))       # --digits 4 by default
    assert [g[2] for g in short.gradient] == ["2.06", "1.592"]


def test_sum_over_paths_equals_the_adjoint(fxy):
    s = build_sheet(fxy, fxy.run(exact=True, **FXY_AT))
    blocks = {b["var"]: b for b in s.paths}
    assert set(blocks) == {"x", "y"}                       # the values that fork
    assert len(blocks["x"]["rows"]) == 3 and len(blocks["y"]["rows"]) == 2
    for b in blocks.values():
        assert math.fsum(r[2] for r in b["rows"]) == pytest.approx(b["total"], rel=1e-14)
    assert blocks["x"]["total"] == 2.059569795572165


def test_symbolic_side_sizes_and_swell(fxy):
    s = build_sheet(fxy, None)
    derivs = [sp.diff(fxy.expr(), v) for v in fxy.inputs]
    assert s.sizes["symbolic_ops"] == sum(sp.count_ops(d) for d in derivs)
    assert s.sizes["staged_ops"] == fxy.forward_ops + fxy.backward_ops
    assert f"{s.sizes['symbolic_ops']} operations" in s.swell and "times as large" in s.swell


def test_worksheet_is_blank_and_key_is_filled(worksheet_and_key):
    ws, key = worksheet_and_key
    _, wtext = text_of(ws)
    _, ktext = text_of(key)
    assert "Worksheet" in wtext and "Name:" in wtext and "Answer key" in ktext
    for n in FXY_NUMBERS:
        assert n not in wtext, n
        assert n in ktext, n
    assert "sigy = sigmoid(y)" in wtext                     # forward lines stay
    assert "(sigx*(1 - sigx))" not in wtext                 # local gradients are blanks
    assert "dx += ____ * dsigx" in wtext
    assert "dx += (sigx*(1 - sigx)) * dsigx" in ktext


def test_blanks_values_keeps_formulas(fxy):
    _, text = text_of(render(sheets_for(fxy, FXY_AT, worksheet=True, blanks="values")))
    assert "dx += (sigx*(1 - sigx)) * dsigx" in text
    assert "1.592" not in text and "0.5121" not in text
    _, text = text_of(render(sheets_for(fxy, FXY_AT, key=True, digits=8)))
    assert "1.5456449" in text and "2.0595698" in text and "1.546 " not in text


def test_variants_differ_and_each_key_matches(tmp_path):
    prog = stage("x * y + sigmoid(x - y)")
    written = sheet(prog, path=str(tmp_path / "class.pdf"), variants=2, seed=7, split=True)
    names = sorted(p.rsplit("/", 1)[-1] for p in written)
    assert names == ["class-01-key.pdf", "class-01.pdf", "class-02-key.pdf", "class-02.pdf"]
    points = variant_points(prog, 2, 7)
    assert len({repr(p) for p in points}) == 2
    assert points == variant_points(prog, 2, 7)             # seeded
    assert len({repr(p) for p in variant_points(prog, 30, 7)}) == 30
    for i, pt in enumerate(points, 1):
        r = prog.run(exact=True, **pt)
        _, key = text_of((tmp_path / f"class-{i:02d}-key.pdf").read_bytes())
        _, ws = text_of((tmp_path / f"class-{i:02d}.pdf").read_bytes())
        assert f"Variant {i} of 2 (seed 7)" in key
        assert fmt(r.value) in key and fmt(r.grad["x"]) in key
        assert fmt(r.grad["x"]) not in ws
        assert f"at x = {pt['x']}, y = {pt['y']}" in ws
    one = sheet(prog, path=str(tmp_path / "all.pdf"), variants=2, seed=7, key=True)
    reader, text = text_of((tmp_path / "all.pdf").read_bytes())
    assert one == [str(tmp_path / "all.pdf")] and text.count("Answer key") >= 2
    assert "Worksheet" not in text


def test_variants_stay_in_the_domain():
    prog = stage("log(x) + sqrt(y - 1)")
    for pt in variant_points(prog, 5, 3, {"x": 0.5, "y": 2.5}):
        assert pt["x"] > 0 and pt["y"] >= 1
        assert pt["x"] == round(pt["x"], 1) and pt["y"] == round(pt["y"], 1)
    with pytest.raises(DeriveError, match="fewer --variants"):
        variant_points(stage("log(x - 100)"), 2, 0)


def test_neuron_sheet_has_its_numbers():
    prog = stage_example(BY_NAME["sigmoid-neuron"])
    _, text = text_of(render(sheets_for(prog, {"w": [2, -3, -3], "x": [-1, -2]})))
    for n in ["0.7311", "-0.3932", "-0.5898", "0.1966", "ddot = f*(1 - f)",
              "dw[1] = x[1] * dw1x1"]:
        assert n in text, n


def test_long_derivative_is_broken_and_stays_on_the_page():
    from derive.pdf.document import Document
    from derive.sheets.flow import Flow
    from derive.sheets.pages import document
    from derive.sheets.symbolic import broken_lines

    prog = stage_example(BY_NAME["logistic-3"])
    s = sheets_for(prog, {"x": 0.3})[0]
    pages = document([s]).pages
    assert len(pages) >= 2
    for page in pages:
        for it in page.items:
            if hasattr(it, "text"):
                assert it.box[0] >= -1 and it.box[2] <= page.width + 1, it.text[:60]
    flow = Flow(Document(), "")
    lines = broken_lines(flow, r"\frac{\partial f}{\partial x}", s.symbolic[0][1], 7.0)
    flow.finish()
    assert len(lines) > 1


def test_tex_source(tmp_path, fxy):
    written = sheet(fxy, at=FXY_AT, path=str(tmp_path / "s.pdf"), tex=True)
    tex = (tmp_path / "s.tex").read_text()
    assert written[0].endswith("s.tex") and (tmp_path / "s-circuit-1.pdf").exists()
    assert tex.startswith(r"\documentclass") and tex.rstrip().endswith(r"\end{document}")
    assert r"\mathrm{sigy} = \sigma\left(y\right)" in tex and "1.546" in tex
    assert r"\mathrm{xpy} \cdot" in tex or r"\cdot \mathrm{xpy}" in tex


def test_typst_source():
    from derive.sheets.source import typst_source

    prog = stage(CS231N_FXY)
    src = typst_source(sheets_for(prog, FXY_AT))
    assert "date: none" in src and 'frac(1, italic("den"))' in src
    assert "1.546" in src


@pytest.mark.skipif(importlib.util.find_spec("typst") is not None, reason="typst is installed")
def test_typst_missing_is_one_line(cli, tmp_path):
    with pytest.raises(DeriveError, match=r'pip install "derive\[typst\]"'):
        sheet("x*y", at={"x": 1, "y": 2}, path=str(tmp_path / "s.pdf"), engine="typst")
    p = cli("sheet", "x*y", "--at", "x=1,y=2", "--engine", "typst", "-o", str(tmp_path / "s.pdf"))
    assert_one_line_error(p, 'pip install "derive[typst]"')


def test_cli_sheet_writes_pdf(cli, tmp_path):
    out = tmp_path / "s.pdf"
    p = cli("sheet", "x*y + x", "--at", "x=3,y=-4", "-o", str(out), "--worksheet", "--key")
    assert p.returncode == 0, p.stderr
    assert p.stderr == "" and p.stdout == f"wrote {out}\n"
    reader, text = text_of(out.read_bytes())
    assert "Worksheet" in text and "Answer key" in text and "dx += y * dxy" in text


@pytest.mark.parametrize("args, frag", [
    (["x*y", "--at", "x=1,y=2", "-o", "/nonexistent/dir/s.pdf"], "cannot write"),
    (["x*y", "--at", "x=1,y=2", "-o", "."], "folder"),
    (["x*y", "--at", "x=1,y=2", "--engine", "word"], "unknown --engine 'word'"),
    (["x*y", "--at", "x=1,y=2", "--blanks", "some"], "unknown --blanks"),
    (["x*y"], "--at"),
    (["log(x)", "--at", "x=-1"], "math domain error"),
    (["x*y", "--variants", "-2"], "--variants"),
])
def test_cli_sheet_bad_input(cli, tmp_path, args, frag):
    assert_one_line_error(cli("sheet", *args, cwd=str(tmp_path)), frag)


# ---- arrays: the two-layer loss of the discussion sheet (derive.staging.arrays) -----------------------

LOSS_AT = {"W1": [[1, -2], [0, 1], [2, 1]], "b": [0.5, -0.5, 0], "W2": [[1, 0, -1], [2, 1, 0]],
           "x": [1, -1], "y": [0.5, 1]}


@pytest.fixture(scope="module")
def loss_prog():
    from derive.symbolic.jacobians import SHEET

    return stage("import numpy as np\n\n" + SHEET)


def test_array_sheet_gradient_against_sympy_and_finite_differences(loss_prog):
    from derive.symbolic.jacobians import central_differences, sympy_gradient
    from derive.sheets.arrays import as_arrays, build_array_sheet

    s = build_array_sheet(loss_prog, LOSS_AT)
    arrays = as_arrays(loss_prog, LOSS_AT)
    sym, fd = sympy_gradient(loss_prog, arrays), central_differences(loss_prog, arrays)
    for name, adj, g in s.gradient:
        assert g.shape == arrays[name].shape                 # each gradient has its input's shape
        np.testing.assert_allclose(g, sym[name], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g, fd[name], rtol=1e-6, atol=1e-8)
    assert s.symbolic["components"] == 19 and s.symbolic["ops"] > 10 * 20


def test_array_sheet_pdf_shows_shapes_lines_and_numbers(loss_prog):
    from derive.sheets.arrays import as_arrays

    reader, text = text_of(render(sheets_for(loss_prog, LOSS_AT)))
    r = loss_prog.run(**as_arrays(loss_prog, LOSS_AT))
    for s in ["W1x = W1 @ x", "a = np.tanh(h)", "dW1 = np.outer(dW1x, x)", "da = W2.T @ dW2a",
              "loss(W1 (3, 2), b (3,), W2 (2, 3), x (2,), y (2,))", "dW2  (2, 3)",
              fmt(r.value), fmt(r.grad['W1'][2, 0]), fmt(r.grad['x'][0])]:
        assert s in text, s
    _, ws = text_of(render(sheets_for(loss_prog, LOSS_AT, worksheet=True)))
    assert "(3, 2)" in ws and fmt(r.value) not in ws and fmt(r.grad['W1'][2, 0]) not in ws
    assert "dW1 = ____" in ws


def test_array_variants_keep_the_shapes(loss_prog):
    from derive.sheets.variants import array_variants

    pts = array_variants(loss_prog, LOSS_AT, 3, 5)
    assert len({repr(p) for p in pts}) == 3
    for p in pts:
        assert {k: np.shape(v) for k, v in p.items()} == {k: np.shape(v) for k, v in LOSS_AT.items()}


def test_array_sheet_errors(loss_prog, tmp_path):
    with pytest.raises(DeriveError, match="pdf engine only"):
        sheet(loss_prog, at=LOSS_AT, path=str(tmp_path / "s.pdf"), tex=True)
    with pytest.raises(DeriveError, match="give --at"):
        sheets_for(loss_prog, None)


def test_total_derivative_sheet_names_and_paths():
    """Discussion sheet 1(a): l(x) = h(f(x), g(x)), the two paths give 4x^3 and 2x."""
    ex = BY_NAME["total-derivative"]
    prog = stage_example(ex)
    s = build_sheet(prog, prog.run(exact=True, **ex.point))
    assert s.title == "l(x)" and s.out == "h"
    (block,) = s.paths
    assert sorted(r[2] for r in block["rows"]) == [4.0, 32.0]    # 2x and 4x^3 at x = 2
    assert block["total"] == 36.0 and block["agrees"]


# ---- variants worked by hand, rosters ---------------------------------------------------------

LOGEXP = "log(1 + exp(x*y)) * tanh(x - y)"


def _all_numbers(prog, pt):
    r = prog.run(exact=True, **pt)
    return list(r.values.values()) + list(r.adjoints.values()) + list(r.steps)


@pytest.mark.parametrize("bounds", [(1e-2, 1e2), (0.1, 10)])
def test_variants_are_worked_by_hand(bounds):
    prog = stage(LOGEXP)
    lo, hi = bounds
    points = variant_points(prog, 12, 3, rng_range=bounds)
    assert len({repr(p) for p in points}) == 12
    for pt in points:
        assert all(float(v) == round(float(v), 1) for v in pt.values())   # integers or one decimal
        for v in _all_numbers(prog, pt):
            assert v == 0 or lo <= abs(v) <= hi, (pt, v)


def test_at_is_variant_one_and_digits_apply_to_both(tmp_path):
    prog = stage(LOGEXP)
    sheets = sheets_for(prog, {"x": 1, "y": -0.5}, variants=3, seed=2, digits=3)
    assert sheets[0].point == "x = 1, y = -0.5" and sheets[1].point == "x = 1, y = -0.5"
    assert sheets[0].label.startswith("Variant 1 of 3") and sheets[0].is_worksheet
    r = prog.run(exact=True, x=1, y=-0.5)
    assert sheets[1].gradient[0][2] == fmt(r.grad["x"], 3) == f"{r.grad['x']:.3g}"
    assert len({s.point for s in sheets}) == 3


def test_roster_sheets_carry_names_and_the_students_values(tmp_path, cli):
    from derive.teach.roster import read_roster, student_seed

    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,email\nada,Ada Lovelace,ada@x.org\nbo,Bo Li,bo@x.org\n")
    prog = stage(LOGEXP)
    students = read_roster(str(roster))
    sheets = sheets_for(prog, None, roster=students, seed=5)
    assert [s.student for s in sheets] == ["Ada Lovelace"] * 2 + ["Bo Li"] * 2
    for k, st in enumerate(students):
        (pt,) = variant_points(prog, 1, 0, seeds=[student_seed(st.id, None, salt=5)])
        assert sheets[2 * k].point == ", ".join(f"{n} = {fmt(v)}" for n, v in pt.items())
    p = cli("sheet", LOGEXP, "--roster", str(roster), "--seed", "5", "--split",
            "-o", str(tmp_path / "class.pdf"))
    assert p.returncode == 0, p.stderr
    _, text = text_of((tmp_path / "class-bo.pdf").read_bytes())
    assert "Name: Bo Li" in text and sheets[2].point in text
    _, key = text_of((tmp_path / "class-bo-key.pdf").read_bytes())
    assert sheets[3].gradient[0][2] in key


@pytest.mark.parametrize("args, frag", [
    (["x*y", "--variants", "2", "--range", "1,x"], "--range '1,x' is not two numbers"),
    (["x*y", "--variants", "2", "--range", "5,1"], "0 < LO < HI"),
    (["x*y", "--at", "x=1,y=2", "--range", "1,5"], "--range chooses the values"),
    (["x*y", "--at", "x=1,y=2", "--digits", "0"], "--digits 0"),
    (["x*y", "--roster", "nope.csv"], "cannot read roster"),
    (["x*y", "--variants", "2", "--at", "x=1"], "missing value for y"),
    (["log(x - 100)", "--variants", "2"], "widen --range"),
])
def test_cli_variant_options_bad_input(cli, tmp_path, args, frag):
    assert_one_line_error(cli("sheet", *args, cwd=str(tmp_path)), frag)


def test_a_layer_returning_an_array_is_one_line_naming_what_to_write(cli, tmp_path):
    """CS231n's affine_forward returns (out, cache): a sheet needs one number to differentiate."""
    from tests.conftest import ROOT

    layers = f"{ROOT}/tests/data/cs231n/layers.py:affine_forward"
    p = cli("sheet", layers, "--at", "x=[[1,2],[0,1]],w=[[1,0,2],[0,1,1]],b=[0,1,0.5]", "--key",
            "-o", "l.pdf", cwd=str(tmp_path))
    assert_one_line_error(p, "returns an array (2x3)", "np.sum(out ** 2)")
    assert not (tmp_path / "l.pdf").exists()
