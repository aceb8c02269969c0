"""Circuit diagrams: layout, numbers on the wires, deterministic output, Graphviz text, CLI."""
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
