"""Golden strings: the notes' staged code stages to the notes' own lines."""
from derive.symbolic.examples import BY_NAME, stage_example
from derive.printing.printers import code_lines

FXY_GOLDEN = """\
sigy = sigmoid(y)  # (1)
num = x + sigy  # (2)
sigx = sigmoid(x)  # (3)
xpy = x + y  # (4)
xpysqr = xpy**2  # (5)
den = sigx + xpysqr  # (6)
invden = 1.0/den  # (7)
f = num*invden  # (8)
df = 1  # (8) the seed: df/df = 1
dnum = invden  # (8)
dinvden = num  # (8)
dden = (-1.0/den**2) * dinvden  # (7)
dsigx = dden  # (6)
dxpysqr = dden  # (6)
dxpy = (2*xpy) * dxpysqr  # (5)
dx = dxpy  # (4)
dy = dxpy  # (4)
dx += (sigx*(1 - sigx)) * dsigx  # (3) x is used 3 times: gradients add
dx += dnum  # (2) x is used 3 times: gradients add
dsigy = dnum  # (2)
dy += (sigy*(1 - sigy)) * dsigy  # (1) y is used 2 times: gradients add"""


def test_notes_code_stages_to_the_notes_lines():
    prog = stage_example(BY_NAME["cs231n-fxy-code"])
    assert [ln.target.name for ln in prog.forward] == \
        ["sigy", "num", "sigx", "xpy", "xpysqr", "den", "invden", "f"]
    assert all(ln.user for ln in prog.forward)
    assert "\n".join(code_lines(prog)) == FXY_GOLDEN
    accumulating = {bl.var.name for bl in prog.backward if bl.accumulate}
    assert accumulating == {"x", "y"}


def test_expression_string_gets_readable_names():
    prog = stage_example(BY_NAME["cs231n-fxy"])
    names = [ln.target.name for ln in prog.forward]
    assert names == ["sigy", "num", "sigx", "xpy", "xpysqr", "den", "f"]


def test_primitive_gates_decompose_the_sigmoid():
    prog = stage_example(BY_NAME["sigmoid-neuron"], "primitive")
    ops = [ln.op for ln in prog.forward]
    assert ops == ["mul", "mul", "add", "add", "neg", "exp", "add", "div"]
    grouped = stage_example(BY_NAME["sigmoid-neuron"], "grouped")
    assert [ln.op for ln in grouped.forward][-1] == "sigmoid"


def test_lines_read_as_written():
    from derive import stage

    prog = stage("(x - y) / (x + 2)")
    text = "\n".join(code_lines(prog, comments=False))
    assert "num = x - y" in text and "f = num/den" in text and "dy = -dnum" in text
    assert "*(-1)" not in text and "**(-1)" not in text


def test_shared_subexpressions_are_staged_once():
    from derive import stage

    prog = stage("4*(4*x*(1 - x))*(1 - 4*x*(1 - x))")
    rhs = [str(ln.rhs) for ln in prog.forward]
    assert len(rhs) == len(set(rhs))
    forks = {bl.var.name for bl in prog.backward if bl.accumulate}
    assert "x" in forks and len(forks) >= 2


def test_latex_and_markdown_and_python_formats():
    from derive import stage

    prog = stage("x * y + sigmoid(x)")
    assert prog.to_latex().startswith("\\begin{aligned}")
    assert "\\sigma" in prog.to_latex()
    md = prog.to_markdown(prog.run(x=1, y=2))
    assert md.splitlines()[0] == "| # | forward | value |"
    ns = {}
    exec(compile(prog.to_python(), "<generated>", "exec"), ns)
    value, grad = ns["f_and_grad"](1.0, 2.0)
    ref = prog.run(x=1.0, y=2.0)
    assert value == ref.value and grad == ref.grad


def test_repr_is_deterministic_and_html_side_by_side():
    from derive import stage

    prog = stage("x * y")
    assert repr(prog) == "<Program f(x, y): 1 forward lines, 3 backward lines, gates=grouped>"
    html = prog._repr_html_()
    assert "forward pass" in html and "backward pass" in html and "0x" not in html
