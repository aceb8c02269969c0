"""Every reader of a program on rolled loops (issue 14, item 5): LaTeX, Markdown and HTML print the
forward loop and the reversed backward loop; circuits draw a short loop unrolled and a long one as
a loop box; sheets print a short loop unrolled and refuse a long one in one line; ``check``
compares a short loop's gradient with ``sympy.diff`` through the unrolled program.

The printed Markdown is run (its code spans and loop blocks, in order) and must give the
program's own gradient; the LaTeX's rows are set by matplotlib's mathtext (all but the two
commands mathtext lacks); the drawings go through the collision checks of tests/geometry.py.
"""
import io
import re

import matplotlib
import numpy as np
import pytest
import sympy as sp
from matplotlib import mathtext

import derive
import derive.sheets.tex
from derive import DeriveError
from derive.circuit.draw import RC
from derive.circuit.loopbox import LoopCircuit
from derive.oracle.central import central_gradient
from derive.staging import rolled
from derive.staging.restage import DRAW_TRIPS
from tests.data.loops import rnn_layers
from tests.geometry import circuit_problems, page_problems
from tests.test_loops import RECURRENCE, _cli
from tests.test_loops_rolled import _rnn_point, stage_rnn

LONG = RECURRENCE.replace("range(3)", "range(30)")
TANH = """
def f(x, w, b):
    h = x
    s = 0.0
    for t in range(TRIPS):
        h = tanh(w * h + b)
        s = s + h * h
    return s
"""
POINT = dict(x=0.7, w=-1.3)
TANH_POINT = dict(x=0.4, w=1.1, b=-0.2)


def tanh_loop(trips):
    return TANH.replace("TRIPS", str(trips))


def _statements(prog):
    printer = derive.staging.program._NUMPY if prog.arrays else derive.staging.program._CODE
    fwd, back = rolled.statements(prog, printer, comments=False)
    return [s.strip() for s in fwd + back]


# ---- LaTeX ----------------------------------------------------------------------------------
def _rows(tex):
    assert tex.startswith("\\begin{aligned}\n") and tex.endswith("\n\\end{aligned}")
    assert tex.count("{") == tex.count("}")
    return [r[:-3] if r.endswith(" \\\\") else r for r in tex.splitlines()[1:-1]]


def _mathtext(row):
    """Set one row with matplotlib's mathtext (which lacks \\textbf and \\mathrel)."""
    for cell in row.lstrip("&").split("&&"):
        cell = cell.replace(r"\textbf{for }", r"\mathbf{for}\ ").replace(r"\mathrel{+}=", "+=")
        mathtext.math_to_image(f"${cell.strip()}$", io.BytesIO(), format="png")


def test_scalar_latex_is_the_rolled_listing_with_upright_names():
    prog = derive.stage(RECURRENCE)
    rows = _rows(prog.to_latex())
    assert rows[0] == r"&\text{forward pass}" and r"&\text{backward pass}" in rows
    assert len(rows) == 2 + len(_statements(prog))  # every statement, one row each
    assert r"&\quad \textbf{for } i = 0, \dots, 2 && \text{line 3}" in rows
    assert r"&\quad \textbf{for } i = 2, \dots, 0" in rows
    body = [r for r in rows if r.startswith(r"&\quad \quad ")]
    assert len(body) == sum(s.startswith("    ") for s in
                            rolled.statements(prog, derive.staging.program._CODE, comments=False)[0]
                            + rolled.statements(prog, derive.staging.program._CODE, comments=False)[1])
    assert r"&\quad \quad \mathrm{hs}[i] = h_{1} && \text{stored}" in rows
    assert r"&\quad \quad h_{1} = \mathrm{hs}[i] && \text{restored}" in rows
    assert r"&\quad \quad \mathrm{dw} \mathrel{+}= h_{1} \cdot \mathrm{dh\_1w} && (3)" in rows
    assert r"&\quad \quad \mathrm{h\_1w} = h_{1} \cdot w && (3)" in rows
    assert r"&\quad \mathrm{dx} = 0 && \text{gradients of every step add here}" in rows
    for row in rows:
        _mathtext(row)


def test_tanh_loop_latex_numbers_every_line():
    prog = derive.stage(tanh_loop(6))
    tex = prog.to_latex()
    for ln in prog.forward:
        assert re.search(rf"&& \({ln.number}\)", tex)
    for bl in prog.backward:
        assert re.search(rf"&& \({bl.ref}\)", tex)
    assert r"\tanh" in tex and r"\textbf{for } t = 5, \dots, 0" in tex
    for row in _rows(tex):
        _mathtext(row)


def test_array_latex_is_typewriter_numpy_in_the_loops():
    prog = stage_rnn(_rnn_point())
    rows = _rows(prog.to_latex())
    assert len(rows) == 2 + len(_statements(prog))
    assert r"&\quad \textbf{for } t = 4, \dots, 0" in rows
    assert r"&\quad \quad \texttt{dWh += prev\_h.T @ dprev\_hWh} && (8)" in rows
    assert r"&\quad \quad \texttt{prev\_hs[t] = prev\_h} && \text{stored}" in rows
    assert r"&\quad \quad \texttt{prev\_h = prev\_hs[t]} && \text{restored}" in rows


# ---- Markdown and HTML ----------------------------------------------------------------------
def markdown_code(md):
    """The code of a Markdown listing, in order: each table row's code span, each python block."""
    out, block = [], None
    for row in md.splitlines():
        if row.startswith("```"):
            block = [] if block is None else out.extend(block)
            continue
        if block is not None:
            block.append(row)
        elif row.startswith("| ") and "`" in row:
            out.append(row.split("`")[1])
    return out


def run_markdown(prog, md, point, **extra):
    params = list(point) + list(extra)
    grads = ", ".join(f"{p!r}: {a}" for p, a in prog.grads.items())
    src = f"def g({', '.join(params)}):\n" + "".join(f"    {s}\n" for s in markdown_code(md))
    src += f"    return {prog.output}, {{{grads}}}\n"
    ns = {"np": np} if prog.arrays else __import__("derive.core.numerics", fromlist=["x"]).NAMESPACES["math"].copy()
    exec(compile(src, "<markdown>", "exec"), ns)  # the test runs derive's printed code
    return ns["g"](**point, **extra)


@pytest.mark.parametrize("src, point", [(RECURRENCE, POINT), (tanh_loop(5), TANH_POINT)])
def test_scalar_markdown_runs_and_gives_the_gradient(src, point):
    prog = derive.stage(src)
    result = prog.run(**point)
    md = prog.to_markdown(result)
    assert md.splitlines()[0] == "| # | forward | value |"
    assert "```python" in md and "    hs[" not in md.split("```python")[0]
    value, grad = run_markdown(prog, md, point)
    assert value == pytest.approx(result.value, rel=1e-14) and grad == pytest.approx(result.grad, rel=1e-14)
    f = _python(src)
    numeric = central_gradient(lambda p: f(**p), point)
    assert grad == pytest.approx(numeric, rel=1e-6)
    assert markdown_code(prog.to_markdown()) == markdown_code(md)


def test_markdown_values_of_carried_lines_are_those_before_the_loop():
    prog = derive.stage(tanh_loop(5))
    md = prog.to_markdown(prog.run(**TANH_POINT))
    assert "| 2 | `h_1 = h` | 0.4 |" in md and "| 3 | `s = 0.0` | 0.0 |" in md  # not the last step's


def test_array_markdown_runs_and_gives_the_published_rnn_backward():
    point = _rnn_point()
    prog = stage_rnn(point)
    md = prog.to_markdown()
    assert md.splitlines()[0] == "| # | forward | shape |" and "for t in reversed(range(5)):" in md
    args = {k: v for k, v in point.items()}
    value, grad = run_markdown(prog, md, args)
    h, cache = rnn_layers.rnn_forward(*[point[k] for k in ("x", "h0", "Wx", "Wh", "b")])
    assert value == pytest.approx(np.sum(h * point["dh"]), rel=1e-12)
    for name, published in zip(("x", "h0", "Wx", "Wh", "b"), rnn_layers.rnn_backward(point["dh"], cache)):
        np.testing.assert_allclose(grad[name], published, rtol=1e-10, atol=1e-10)


def test_html_shows_both_loops_side_by_side():
    page = derive.stage(RECURRENCE)._repr_html_()
    assert page.count("<td") == 2 and "for i in reversed(range(3)):" in page
    assert "    dw += h_1 * dh_1w  # (3)" in page and "hs[i] = h_1  # stored" in page


@pytest.mark.parametrize("fmt, head", [("latex", "\\begin{aligned}"), ("markdown", "| # | forward | value |")])
def test_cli_prints_rolled_programs_as_latex_and_markdown(tmp_path, fmt, head):
    path = tmp_path / "rec.py"
    path.write_text(LONG)
    out = _cli("stage", f"{path}:f", "--at", "x=0.7,w=-1.3", "--format", fmt)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(head) and "30" in out.stdout


def test_cli_prints_the_rolled_rnn_as_latex_and_markdown(tmp_path):
    path = tmp_path / "rnn.py"
    path.write_text(rnn_layers.source())
    shapes = "x=2x5x3,h0=2x4,Wx=3x4,Wh=4x4,b=4,dh=2x5x4"
    for fmt in ("latex", "markdown"):
        out = _cli("stage", f"{path}:rnn_loss", "--shapes", shapes, "--format", fmt)
        assert out.returncode == 0, out.stderr
        assert "prev_hs[t]" in out.stdout.replace("\\_", "_")


# ---- circuits -------------------------------------------------------------------------------
def _problems(c):
    """Collisions drawn with matplotlib, and on a derive.pdf page (as a sheet draws it)."""
    from derive.circuit.pens import to_page
    from tests.geometry import page, page_problems

    with matplotlib.rc_context(RC):
        found = circuit_problems(c.figure())
    pg = page()
    to_page(c.record(), pg, 0, 0, *(v * 72 for v in c.size()))
    return found + page_problems(pg)


def test_short_loop_circuit_is_the_unrolled_circuit_with_a_caption():
    prog = derive.stage(RECURRENCE)
    c = prog.circuit(**POINT)
    flat = derive.stage(RECURRENCE, unroll=True).circuit(**POINT)
    assert isinstance(c, LoopCircuit) and "(3 steps), drawn unrolled" in c.caption and not c.boxes
    assert sorted(c.nodes) == sorted(flat.nodes)
    assert [(e.src, e.dst, e.value, e.grad) for e in c.edges] == [(e.src, e.dst, e.value, e.grad) for e in flat.edges]
    assert _problems(c) == []
    svg = c.to_bytes("svg").decode()
    assert "drawn unrolled" in svg


def test_long_loop_circuit_is_a_loop_box_with_the_carried_wire_going_back():
    prog = derive.stage(LONG)
    c = prog.circuit(**POINT)
    assert len(c.boxes) == 1 and c.boxes[0][-1] == "for i in range(30)"
    assert c.back == [("h_2", "h_1", 0)]
    gates = [n for n in c.nodes.values() if n.kind == "gate"]
    assert len(gates) == len(prog.forward)  # the body once, whatever the trip count
    left, right = c.boxes[0][:2]
    body = {"h_1w", "h_2"}
    for n in gates + [n for n in c.nodes.values() if n.kind == "input"]:
        assert (left < n.x < right) == (n.name in body), n.name  # inputs enter from outside
    assert _problems(c) == []


def test_loop_box_on_a_page_is_the_one_matplotlib_draws():
    from derive.circuit.pens import to_page, transform
    from tests.geometry import page

    c = derive.stage(LONG).circuit(**POINT)
    rec = c.record()
    with matplotlib.rc_context(RC):
        ax = c.figure().axes[0]
    assert (rec.xlim, rec.ylim) == (ax.get_xlim(), ax.get_ylim()) and rec.adjustable == "box"
    pg = page()
    w, h = (v * 72 for v in c.size())
    to_page(rec, pg, 0, 0, w, h)
    at, _ = transform(rec, 0, 0, w, h)
    items = {}
    for it in pg.items:
        items.setdefault(it.gid, []).append(it)
    (box,) = items["box:0"]
    left, right, top, bottom, label = c.boxes[0]
    assert box.dash and box.points[0] == pytest.approx(at(left, bottom)) and box.points[2] == pytest.approx(at(right, top))
    assert items["loop:0"][0].text == label == "for i in range(30)"
    assert items["caption"][0].text == c.caption
    back = items["wire:back0:h_2:h_1"]                 # the carried wire, round above the box
    assert max(p[1] for p in back[0].points) > box.box[3] and len(back[-1].points) == 3
@pytest.mark.parametrize("case", ["tanh-3", "tanh-12", "rnn-3", "rnn-8"])
def test_loop_circuits_have_no_collisions(case):
    kind, trips = case.split("-")
    trips = int(trips)
    if kind == "tanh":
        c = derive.stage(tanh_loop(trips)).circuit(**TANH_POINT)
    else:
        point = _rnn_point(T=trips)
        c = stage_rnn(point).circuit(**point)
    assert bool(c.boxes) == (trips > DRAW_TRIPS)
    assert _problems(c) == []


def test_cli_graph_draws_a_rolled_loop(tmp_path):
    path = tmp_path / "rec.py"
    path.write_text(LONG)
    out = _cli("graph", f"{path}:f", "-o", str(tmp_path / "c.png"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- sheets ---------------------------------------------------------------------------------
def test_short_loop_sheet_is_the_unrolled_sheet_with_a_note():
    from derive.sheets.loops import sheet_program
    from derive.sheets.sheet import sheets_for

    prog = sheet_program(derive.stage(RECURRENCE))
    assert not prog.loops and len(prog.forward) == len(derive.stage(RECURRENCE, unroll=True).forward)
    (s,) = sheets_for(prog, POINT, budget=5)
    assert any("the rolled loop at line 3 (3 steps) is unrolled here" in n for n in s.notes)
    assert len(s.forward) == len(prog.forward)


def test_cli_sheet_unroll_prints_every_step(tmp_path):
    import pypdf

    path = tmp_path / "rec.py"
    path.write_text(RECURRENCE.replace("range(3)", "range(6)"))
    out = _cli("sheet", f"{path}:f", "--unroll", "--at", "x=0.7,w=-1.3", "-o", str(tmp_path / "s.pdf"),
               "--no-cache", "--budget", "5")
    assert out.returncode == 0, out.stderr
    text = "".join(p.extract_text() for p in pypdf.PdfReader(str(tmp_path / "s.pdf")).pages)
    assert "h_i5" in text and "for i in" not in text


def _sheet_pages(prog, point):
    from derive.pdf.document import Document
    from derive.sheets.loops import draw

    doc = Document()
    draw(doc, prog, point)
    return doc.pages


def _shown(pages):
    return [it.text for page in pages for it in page.items if hasattr(it, "text")]


def test_long_loop_sheet_is_the_rolled_listing_and_the_loop_box(tmp_path):
    import pypdf

    prog = derive.stage(LONG)
    pages = _sheet_pages(prog, POINT)
    shown = _shown(pages)
    fwd, back = rolled.statements(prog, derive.staging.program._CODE)
    for s in fwd + back:
        assert s in shown, s                      # every statement, with its comment and indent
    result = prog.run(**POINT)
    assert f"df/dw = {derive.sheets.tex.fmt(result.grad['w'])}" in shown
    assert any(t.startswith("[0.7, -0.21, 0.973") for t in shown)     # the tape at the point
    for page in pages:
        assert page_problems(page) == []
    written = derive.sheet(LONG, at=POINT, path=str(tmp_path / "s.pdf"))
    text = "".join(p.extract_text() for p in pypdf.PdfReader(written[0]).pages)
    assert "for i in reversed(range(30)):" in text and "for i in range(30)" in text


def test_rolled_rnn_sheet_has_no_collisions():
    point = _rnn_point(T=7)
    pages = _sheet_pages(stage_rnn(point), point)
    shown = _shown(pages)
    assert "    dWh += prev_h.T @ dprev_hWh  # (8)" in shown and "7 x array of shape (2, 4)" in shown
    for page in pages:
        assert page_problems(page) == []


def test_a_rolled_sheet_refuses_worksheets_in_one_line(tmp_path):
    with pytest.raises(DeriveError, match=r"rolled answer key at one point .*drop --worksheet"):
        derive.sheet(LONG, at=POINT, path=str(tmp_path / "s.pdf"), worksheet=True)
    path = tmp_path / "rec.py"
    path.write_text(LONG)
    out = _cli("sheet", f"{path}:f", "--at", "x=0.7,w=-1.3", "--variants", "2", "-o", str(tmp_path / "s.pdf"))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "--unroll" in out.stderr


# ---- check: sympy.diff through the unrolled program ------------------------------------------
def test_check_compares_a_short_loop_with_sympy_diff():
    x, w = derive.stage(RECURRENCE).inputs   # derive's own Symbols (with their assumptions)
    h = x
    for _ in range(3):
        h = h * w + x
    report = derive.check(RECURRENCE, at=POINT)
    assert report.ok and report.symbolic
    expect = {k: float(sp.diff(h, s).subs({x: 0.7, w: -1.3})) for k, s in (("x", x), ("w", w))}
    assert report.symbolic[0] == pytest.approx(expect, rel=1e-13)
    assert report.staged[0] == pytest.approx(derive.stage(RECURRENCE).run(**POINT).grad, rel=1e-15)
    prog = derive.stage(RECURRENCE)
    assert sp.expand(prog.expr() - h) == 0


def test_check_of_a_tanh_loop_at_random_points():
    report = derive.check(tanh_loop(4), points=3)
    assert report.ok and len(report.points) == 3 and report.max_rel_err_sympy < 1e-9


def test_a_long_loop_is_checked_by_central_differences_only_and_says_so(tmp_path):
    with pytest.raises(DeriveError, match=r"runs 30 steps \(more than 25\): stage it with unroll=True"):
        derive.stage(LONG).expr()
    report = derive.check(LONG, at=POINT)
    assert report.ok and report.symbolic == [{}] and report.sympy_skipped
    assert "sympy.diff not compared (a rolled loop longer than 25 steps" in str(report)
    f = _python(LONG)
    assert report.numeric[0] == pytest.approx(central_gradient(lambda p: f(**p), POINT), rel=1e-6)
    path = tmp_path / "rec.py"
    path.write_text(LONG)
    out = _cli("stage", f"{path}:f", "--at", "x=0.7,w=-1.3", "--check")
    assert out.returncode == 0 and "sympy.diff not compared" in out.stdout, out.stderr


def test_check_of_a_rolled_rnn_compares_with_the_unrolled_sympy_diff():
    point = _rnn_point(N=1, T=3, D=2, H=2)
    report = derive.check(stage_rnn(point), at=point)
    assert report.ok and report.max_err_sympy is not None and report.max_err_sympy < 1e-9
    long = _rnn_point(N=1, T=30, D=2, H=2)
    with pytest.raises(DeriveError, match=r"check reads the rolled loop at line \d+ \(30 steps\) unrolled"):
        derive.check(stage_rnn(long), at=long)


def _python(src):
    ns = {"tanh": np.tanh}
    exec(compile(src, "<test>", "exec"), ns)  # the test's own source, never learner code
    return ns["f"]
