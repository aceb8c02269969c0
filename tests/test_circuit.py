"""Circuit diagrams: layout, numbers on the wires, deterministic output, Graphviz text, CLI."""
import io
import os
import struct

import pytest
import sympy as sp

from derive import stage
from derive.circuit.draw import DY, circuit, gate_label
from derive.symbolic.examples import BY_NAME, CS231N_FXY, stage_example
from tests.conftest import assert_one_line_error


@pytest.fixture(scope="module")
def fxy():
    prog = stage(CS231N_FXY)
    return prog, prog.circuit(x=3, y=-4)


def test_inputs_sit_at_their_natural_depth():
    c = circuit(stage("(x * y + w) * z"), x=1, y=2, w=3, z=4)
    layer = {k: n.layer for k, n in c.nodes.items()}
    assert layer["x"] == layer["y"] == 0
    assert layer["w"] == 1 and layer["z"] == 2          # one column before their first use
    assert layer["f"] == 3 and layer["<out>"] == 4


def test_gate_labels_come_from_the_rule_table_with_constants_folded():
    prog = stage("1/(1 + exp(-x)) + y**2 * 3 - 2", gates="primitive")
    labels = {gate_label(ln) for ln in prog.forward}
    assert {"exp", "1/x", "**2", "*3", "-x", "-2"} <= labels
    assert "+1" in labels or "+" in labels
    assert gate_label(stage("sigmoid(x)").forward[0]) == "σ"


def test_wire_values_are_the_forward_values(fxy):
    prog, c = fxy
    r = prog.run(exact=True, x=3, y=-4)
    for e in c.edges:
        want = r.values.get(e.src, r.point.get(e.src))
        assert e.value == want
    out = [e for e in c.edges if e.dst == "<out>"][0]
    assert out.value == 1.5456448841066441 and out.grad == 1.0


def test_wire_gradients_add_up_to_sympy_and_finite_differences(fxy):
    prog, c = fxy
    expr = sp.sympify(CS231N_FXY.replace("sigmoid", "S"), locals={"S": lambda a: 1 / (1 + sp.exp(-a))})
    point = {"x": 3.0, "y": -4.0}
    for name in ("x", "y"):
        total = sum(e.grad for e in c.edges if e.src == name)
        s = sp.Symbol(name)
        exact = float(sp.diff(expr, s).subs({sp.Symbol(k): v for k, v in point.items()}))
        h = 1e-6
        f = sp.lambdify([sp.Symbol("x"), sp.Symbol("y")], expr)
        hi = dict(point, **{name: point[name] + h})
        lo = dict(point, **{name: point[name] - h})
        fd = (f(**hi) - f(**lo)) / (2 * h)
        assert total == pytest.approx(exact, rel=1e-12)
        assert total == pytest.approx(fd, rel=1e-6)
        assert c.nodes[name].grad == pytest.approx(total, rel=1e-15)


def test_each_fork_wire_carries_its_own_share(fxy):
    _, c = fxy
    shares = sorted(round(e.grad, 6) for e in c.edges if e.src == "x")
    assert shares == [-0.035762, 0.512144, 1.583187]


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_same_input_same_bytes(fmt):
    a = stage(CS231N_FXY).circuit(x=3, y=-4).to_bytes(fmt)
    b = stage(CS231N_FXY).circuit(x=3, y=-4).to_bytes(fmt)
    assert a == b and len(a) > 1000
    if fmt == "svg":
        assert b"<dc:date>" not in a
    if fmt == "pdf":
        assert b"CreationDate" not in a


def test_png_is_a_png_of_sensible_size(fxy):
    data = fxy[1].to_bytes("png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    assert 800 < w < 4000 and 300 < h < 2000


def test_to_dot(fxy):
    dot = fxy[1].to_dot()
    assert dot.startswith("digraph circuit {") and "rankdir=LR;" in dot
    assert dot.count("->") == 12
    assert '"x" -> "sigx"' in dot and "0.512" in dot


def test_notebook_display_is_svg(fxy):
    assert fxy[1]._repr_svg_().lstrip().startswith("<?xml")


def test_thirty_gates_stay_readable():
    expr = " + ".join(f"sigmoid(x{i} * y{i % 3})" for i in range(10))  # 10 mul, 10 sigmoid, 9 add
    prog = stage(expr)
    assert len(prog.forward) >= 29
    point = {s.name: 0.1 * (k + 1) for k, s in enumerate(prog.inputs)}
    c = circuit(prog, **point)
    cols = {}
    for n in c.nodes.values():
        cols.setdefault(n.layer, []).append(n.y)
    for ys in cols.values():
        ys.sort()
        assert all(b - a >= DY - 1e-9 for a, b in zip(ys, ys[1:]))  # nothing overlaps
    w, h = c.size()
    assert w < 30 and h < 20


def test_neuron_circuit_list_inputs():
    prog = stage_example(BY_NAME["sigmoid-neuron"], "primitive")
    c = prog.circuit(w=[2, -3, -3], x=[-1, -2])
    assert c.nodes["w[2]"].layer > c.nodes["w[0]"].layer
    assert sum(e.grad for e in c.edges if e.src == "w[0]") == -0.19661193324148185


def test_cli_graph_writes_png_and_dot(cli, tmp_path):
    out = tmp_path / "c.png"
    p = cli("graph", CS231N_FXY, "--at", "x=3,y=-4", "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert out.read_bytes()[:4] == b"\x89PNG"
    p = cli("graph", "x*y + x", "--dot")
    assert p.returncode == 0 and p.stdout.startswith("digraph")


@pytest.mark.parametrize("args, frag", [
    (["x*y", "-o", "/nonexistent/dir/c.png"], "cannot write"),
    (["x*y", "-o", "c.gif"], ".png, .svg"),
    (["x*y"], "-o circuit.png"),
    (["x*y", "--at", "x=1", "-o", "c.svg"], "missing value for y"),
])
def test_cli_graph_bad_input(cli, tmp_path, args, frag):
    assert_one_line_error(cli("graph", *args, cwd=str(tmp_path)), frag)


def test_worksheet_circuit_gives_inputs_and_blanks_the_rest(fxy):
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    fxy[1].draw(ax, numbers="blanks")
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("3.00") == 3 and texts.count("-4.00") == 2      # the inputs are given
    assert "1.00" in texts                                              # and the output's 1
    assert "0.512" not in texts and "1.55" not in texts and "2.06" not in texts
    assert texts.count("_____") == 2 * 12 - 5 - 1


# ---- one layout, two surfaces: matplotlib and a derive.pdf page --------------------------------
def _on_page(c, numbers=True):
    from derive.circuit.pens import Recording, to_page
    from tests.geometry import page

    rec = Recording()
    c.draw(rec, numbers=numbers)
    w, h = c.size()
    pg = page()
    to_page(rec, pg, 36, 50, w * 72, h * 72)
    return rec, pg


def test_the_page_gets_the_layout_matplotlib_gets(fxy):
    import matplotlib

    from derive.circuit.draw import RC
    from derive.circuit.pens import transform

    c = fxy[1]
    with matplotlib.rc_context(RC):
        fig = c.figure()
    ax = fig.axes[0]
    drawn = sorted((t.get_gid(), t.get_text(), round(t.get_position()[0], 9), round(t.get_position()[1], 9),
                    t.get_ha(), t.get_va(), round(t.get_fontsize(), 9)) for t in ax.texts if t.get_text())
    rec, pg = _on_page(c)
    at, per_unit = transform(rec, 36, 50, *(v * 72 for v in c.size()))
    assert per_unit == pytest.approx(72)                   # one inch per unit at scale 1, as the figure
    recorded = sorted((a["gid"], a["s"], round(a["x"], 9), round(a["y"], 9), a["ha"], a["va"], round(a["size"], 9))
                      for _, kind, a in rec.marks if kind == "text")
    assert recorded == drawn and len(drawn) == 43
    texts = {it.gid: it for it in pg.items if getattr(it, "text", None)}
    for gid, s, x, y, ha, va, size in recorded:           # each text where the data units put it
        it = texts[gid]
        assert it.text == s and it.size == pytest.approx(size)
        bx = {"left": it.box[0], "right": it.box[2], "center": (it.box[0] + it.box[2]) / 2}[ha]
        by = {"top": it.box[3], "bottom": it.box[1], "center": (it.box[1] + it.box[3]) / 2}[va]
        assert (bx, by) == pytest.approx(at(x, y), abs=1e-6)
    fonts = {it.gid.split(":")[0]: it.font for it in texts.values()}
    assert fonts == {"gate": "sans", "name": "sans-oblique", "input": "mono", "output": "mono",
                     "total": "mono", "value": "mono", "grad": "mono"}


def test_page_wires_are_lines_with_filled_heads_ending_at_their_gates(fxy):
    c = fxy[1]
    _, pg = _on_page(c)
    circles = {it.gid[7:]: it.box for it in pg.items if (it.gid or "").startswith("circle:")}
    assert len(circles) == sum(n.kind == "gate" for n in c.nodes.values())
    for k, e in enumerate(c.edges):
        parts = [it for it in pg.items if it.gid == f"wire:{k}:{e.src}:{e.dst}"]
        head = parts[-1]                                   # the triangle comes last
        assert len(head.points) == 3 and len(parts) == (3 if e.via else 2)   # bends: one more line
        tip = head.points[0]
        if e.dst in circles:                               # the tip touches the gate's circle
            x0, y0, x1, y1 = circles[e.dst]
            r = (x1 - x0) / 2
            assert ((tip[0] - (x0 + r)) ** 2 + (tip[1] - (y0 + r)) ** 2) ** 0.5 == pytest.approx(r, abs=1e-6)
        shaft = parts[-2].points
        base = ((head.points[1][0] + head.points[2][0]) / 2, (head.points[1][1] + head.points[2][1]) / 2)
        assert shaft[-1] == pytest.approx(base, abs=1e-9)  # the line stops where the head starts
        length = ((tip[0] - base[0]) ** 2 + (tip[1] - base[1]) ** 2) ** 0.5
        assert length == pytest.approx(0.4 * 9)            # matplotlib's -|> head at scale 1


# ---- the circuit on a sheet's page (derive.sheets.circuit) -------------------------------------
def PageFlow(label="Answer key"):
    """The sheets' page flow on a new document."""
    from derive.pdf.document import Document
    from derive.sheets.flow import Flow

    return Flow(Document(), label)


def derive_fmt(v, digits):
    from derive.sheets.tex import fmt

    return fmt(v, digits)


def _sheet(expr, at, **kw):
    from derive.sheets.sheet import sheets_for

    return sheets_for(stage(expr), at, **kw)[0]


def _texts(pg, kinds):
    return {it.gid: it for it in pg.items if (it.gid or "").split(":")[0] in kinds and getattr(it, "text", None)}


def test_sheet_circuit_is_drawn_on_the_page_below_its_heading():
    from derive.sheets.circuit import _circuit
    from derive.sheets.flow import CW, M
    from tests.geometry import page_problems

    s = _sheet(CS231N_FXY, {"x": 3, "y": -4}, key=True)
    flow = PageFlow()
    top = flow.y
    _circuit(flow, s)
    pg = flow.pg
    assert flow.page == 1 and not flow.later and len(flow.doc.pages) == 1
    assert pg.items[0].text.startswith("The circuit: values in green")
    parts = [it for it in pg.items[1:]]
    assert all(M * 72 - 1e-6 <= it.box[0] and it.box[2] <= (M + CW) * 72 + 1e-6 for it in parts)
    assert all(flow.y * 72 - 1e-6 <= it.box[1] and it.box[3] <= top * 72 for it in parts)
    numbers = _texts(pg, ("value", "grad"))
    assert len(numbers) == 24 and s.circuit.digits == s.digits == 4
    for k, e in enumerate(s.circuit.edges):                          # the sheet's --digits
        assert numbers[f"value:{k}"].text == s.circuit.short(e.value) == derive_fmt(e.value, 4)
    assert page_problems(pg) == []


def test_a_circuit_too_wide_for_the_page_gets_a_landscape_page_after_the_sheet():
    from derive.sheets.circuit import _circuit
    from derive.sheets.flow import H, W
    from tests.geometry import page_problems

    expr = "sin(" * 13 + "sin(x*y)" + ")" * 13                         # 15 gates in a row
    s = _sheet(expr, {"x": 0.5, "y": 0.5}, key=True)
    flow = PageFlow(label="Answer key")
    _circuit(flow, s)
    assert len(flow.later) == 1 and len(flow.doc.pages) == 1
    assert flow.pg.items[-1].text == "(on its own landscape page, after this sheet)"
    assert not [it for it in flow.pg.items if (it.gid or "").startswith(("circle:", "wire:"))]
    flow.later[0]()
    assert flow.page == 2 and len(flow.doc.pages) == 2
    land = flow.doc.pages[1]
    assert (land.width, land.height) == pytest.approx((H * 72, W * 72))
    texts = [it.text for it in land.items if getattr(it, "text", None)]
    assert texts[0] == "The circuit" and texts[-1] == "Answer key  ·  derive derivation sheet  ·  page 2"
    gates = [it for it in land.items if (it.gid or "").startswith("circle:")]
    assert len(gates) == 15 and all(0 < it.box[0] and it.box[2] < H * 72 for it in gates)
    assert page_problems(land) == []


def test_a_recording_replayed_on_matplotlib_is_the_figure_drawn_directly(fxy):
    import io

    import matplotlib
    from matplotlib.figure import Figure

    from derive.circuit.draw import RC
    from derive.circuit.pens import MplPen

    def svg(draw):
        with matplotlib.rc_context(RC):
            fig = Figure(figsize=fxy[1].size())
            draw(MplPen(fig.add_axes((0, 0, 1, 1))))
            buf = io.BytesIO()
            fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
        return buf.getvalue()

    rec = fxy[1].record()
    assert svg(rec.replay) == svg(fxy[1].draw) and b"gate:sigx" in svg(rec.replay)


def test_draw_circuit_puts_a_loop_box_below_the_cursor_without_moving_it():
    from derive.circuit.loopbox import loop_box
    from derive.sheets.circuit import CW, M, draw_circuit
    from tests.geometry import page_problems

    prog = stage("def f(x, w):\n    h = x\n    for i in range(30):\n        h = tanh(w * h)\n    return h\n")
    c = loop_box(prog)
    flow = PageFlow()
    y = flow.y
    w, h = c.size()
    scale = min(CW / w, 1.0)
    assert draw_circuit(flow, c, scale) == 0 and flow.y == y
    drawn = [it for it in flow.pg.items if it.gid]
    assert {it.gid for it in drawn} >= {"box:0", "loop:0", "caption", "wire:back0:h_2:h_1"}
    assert all(M * 72 - 1e-6 <= it.box[0] and it.box[2] <= (M + CW) * 72 + 1e-6 for it in drawn)
    assert all((y - h * scale) * 72 - 1e-6 <= it.box[1] and it.box[3] <= y * 72 + 1e-6 for it in drawn)
    assert page_problems(flow.pg) == []


def test_a_circuit_pdf_is_written_by_derive_pdf_without_matplotlib(tmp_path):
    """``derive graph -o c.pdf`` (``Circuit.to_bytes("pdf")``): one page the circuit's size, its
    labels clear of each other and of the wires, its text layer the labels shown."""
    import pypdf
    import subprocess
    import sys

    from tests.conftest import ROOT
    from tests.geometry import page_problems

    c = stage(CS231N_FXY).circuit(x=3, y=-4)
    doc = c.page()
    (pg,) = doc.pages
    w, h = c.size()
    assert (pg.width, pg.height) == pytest.approx((w * 72, h * 72))
    assert page_problems(pg) == []
    text = pypdf.PdfReader(io.BytesIO(doc.to_bytes())).pages[0].extract_text()
    for label in ("-0.0358", "0.00905", "0.512", "1.55", "σ", "**2", "xpysqr", "den"):
        assert label in text, label
    code = ("import sys\nfrom derive import stage\n"
            f"data = stage({CS231N_FXY!r}).circuit(x=3, y=-4).to_bytes('pdf')\n"
            "assert data.startswith(b'%PDF') and 'matplotlib' not in sys.modules, sorted(sys.modules)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode == 0, r.stderr


def test_a_gate_of_three_inputs_draws_its_wires_apart():
    """CS231n's softmax_loss_vectorized gathers ``probs[np.arange(N), y]``: a gate of three
    inputs (it used to fail with "math domain error"); its wires arrive at three points."""
    from derive.cli.commands._source import load_target
    from derive.sheets.arrays import as_arrays
    from tests.conftest import ROOT
    from tests.geometry import page_problems

    prog = load_target(os.path.join(ROOT, "tests/data/cs231n/linear_classifiers.py")
                       + ":softmax_loss_vectorized", "grouped")
    at = dict(W=[[1, 0, -1], [0.5, 1, 0]], X=[[1, 2], [0, 1], [2, -1]], y=[0, 2, 1], reg=0.1)
    c = prog.circuit(**as_arrays(prog, at))
    into = [e for e in c.edges if e.nslots == 3]
    assert len({e.dst for e in into}) == 1 and len(into) == 3
    rec = c.record()
    heads = {a["head"] for _, kind, a in rec.marks if kind == "arrow"
             and a["gid"].endswith(":" + into[0].dst)}
    assert len(heads) == 3
    assert page_problems(c.page().pages[0]) == []
