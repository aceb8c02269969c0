"""The seed line ``df = 1`` opens every backward listing: CLI, Python, LaTeX, Markdown, HTML,
JSON, sheets; an array output with an upstream gradient says that ``dout`` is given instead."""
import json
import subprocess
import sys

import numpy as np
import pytest

import derive
from derive.cli.commands.stage import to_json
from derive.sheets.sheet import build_sheet

FXY = "(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)"


def _two_layer(W1, b1, W2, x):
    h = np.maximum(0, W1 @ x + b1)
    return np.sum(W2 @ h)


@pytest.fixture(scope="module")
def fxy():
    return derive.stage(FXY)


def test_first_backward_line_is_the_seed(fxy):
    first = fxy.backward[0]
    assert first.seed and str(first) == "df = 1" and first.ref == len(fxy.forward)
    assert not any(bl.seed for bl in fxy.backward[1:])
    r = fxy.run(exact=True, x=3, y=-4)
    assert r.steps[0] == 1.0 and r.adjoints["df"] == 1.0
    assert r.grad["x"] == 2.059569795572165 and r.grad["y"] == 1.5922327514838093   # the notes'


def test_every_printed_form_starts_the_backward_pass_with_it(fxy):
    text = fxy.to_text(fxy.run(x=3, y=-4))
    back = text.split("backward pass")[1].splitlines()[1]
    assert back.split() [:3] == ["df", "=", "1"] and "the seed: df/df = 1" in back
    assert "df = 1  # (7) the seed" in fxy.to_python()
    assert r"\mathit{df} &= 1" in fxy.to_latex()
    assert "| `df = 1` |" in fxy.to_markdown()
    assert "df = 1  # (7) the seed" in fxy._repr_html_()
    js = to_json(fxy)
    assert js["backward"][0] == "df = 1" and js["seed"] == "df"


def test_printed_python_with_the_seed_runs_and_agrees(fxy):
    ns = {}
    exec(fxy.to_python("g"), ns)
    value, grad = ns["g"](3.0, -4.0)
    assert abs(grad["x"] - 2.059569795572165) < 1e-12 and abs(grad["y"] - 1.5922327514838093) < 1e-12


def test_the_seed_costs_no_operation(fxy):
    assert fxy.backward_ops == 15 and len(fxy.backward) == 12


def test_array_program_with_a_number_output_starts_from_dloss_equal_one():
    prog = derive.stage(_two_layer, shapes={"W1": (3, 2), "b1": (3,), "W2": (1, 3), "x": (2,)})
    assert str(prog.backward[0]) == "dt5 = 1" or prog.backward[0].seed
    assert prog.backward[0].shape == () and prog.to_dict()["seed"] == prog.backward[0].target.name
    assert prog.backward_code().splitlines()[0].split("#")[1].strip().endswith(
        f"the seed: d{prog.output}/d{prog.output} = 1")
    rng = np.random.default_rng(0)
    args = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=3), "W2": rng.normal(size=(1, 3)),
            "x": rng.normal(size=2)}
    r = prog.run(**args)
    h = 1e-6
    for name, a in args.items():
        num = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            up, dn = {k: v.copy() for k, v in args.items()}, {k: v.copy() for k, v in args.items()}
            up[name][i] += h
            dn[name][i] -= h
            num[i] = (_two_layer(**up) - _two_layer(**dn)) / (2 * h)
        assert np.allclose(r.grad[name], num, atol=1e-6)


def test_an_upstream_gradient_is_the_given_seed():
    src = "tests/data/cs231n/layers.py:affine_forward"
    out = subprocess.run([sys.executable, "-m", "derive", "stage", src, "--shapes", "x=2x3,w=3x4,b=4"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    back = out.stdout.split("backward pass\n")[1].splitlines()
    assert back[0].strip() == "# dout is given: the seed, d(loss)/dout from the layers above"
    js = json.loads(subprocess.run([sys.executable, "-m", "derive", "stage", src, "--shapes",
                                    "x=2x3,w=3x4,b=4", "--json"], capture_output=True, text=True).stdout)
    assert js["seed"] == "dout" and not js["backward"][0].startswith("dout")


def test_a_worksheet_prints_the_seed_whole_and_blanks_the_rest(fxy):
    result = fxy.run(exact=True, x=3, y=-4)
    s = build_sheet(fxy, result)
    seed, rest = s.backward[0], s.backward[1:]
    assert seed.given and seed.cells["code"] == "df = 1" and seed.cells["value"] == "1"
    assert not any(r.given for r in rest)


def test_the_worksheet_pdf_shows_the_seed_filled_in(tmp_path):
    import pypdf
    path = tmp_path / "w.pdf"
    derive.sheet(FXY, at={"x": 3, "y": -4}, path=str(path), worksheet=True)
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(str(path)).pages)
    rows = [ln for ln in text.splitlines() if ln.startswith("(7) d")]
    assert rows[0].split()[:4] == ["(7)", "df", "=", "1"] and "____" not in rows[0]
    assert all("____" in r for r in rows[1:]) and len(rows) == 3
