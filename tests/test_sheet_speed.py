"""What makes sheets fast keeps them the same: the label grid, the width bound, the early workers,
drawing while SymPy works (the disk cache: tests/test_sheet_cache.py).

Speed itself is measured in benchmarks/sheets.py, not here: these tests check that each shortcut
gives what the long way gives.
"""
import random
import time

import pytest

from derive.circuit.labels import _Grid, clipped, overlap
from derive.sheets.symbolic import _glyph_width
from derive.symbolic.budget import start

TEX = [r"x + y", r"\mathrm{xpy}^{2}", r"\frac{\partial f}{\partial x} = ",
       r"\sigma\left(x\right) \cdot \left(1 - \sigma\left(x\right)\right)",
       r"\frac{1}{\left(x + y\right)^{2} + \sigma\left(x\right)} + \frac{\left(x + "
       r"\sigma\left(y\right)\right) \cdot \left(- 2 \cdot x - 2 \cdot y\right)}{\left(\left(x "
       r"+ y\right)^{2} + \sigma\left(x\right)\right)^{2}}",
       r"\log{\left(e^{x y} + 1 \right)} \cdot \tanh{\left(x - y \right)}"]


def test_grid_finds_every_box_and_segment_that_touches():
    rng = random.Random(7)
    for cell in (0.05, 0.3, 2.0):
        boxes, segs = _Grid(cell), _Grid(cell)
        kept, lines = [], []
        for _ in range(80):
            x, y = rng.uniform(-3, 3), rng.uniform(-3, 3)
            b = (x, y, x + rng.uniform(0, 1), y + rng.uniform(0, 0.4))
            boxes.add(b, b)
            kept.append(b)
            s = ((rng.uniform(-3, 3), rng.uniform(-3, 3)), (rng.uniform(-3, 3), rng.uniform(-3, 3)))
            (x0, y0), (x1, y1) = s
            segs.add((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), s)
            lines.append(s)
        for q in kept[:20]:
            near = boxes.near(q)
            assert [b for b in kept if overlap(q, b) > 0] == [b for b in near if overlap(q, b) > 0]
            assert near == sorted(near, key=kept.index)          # in the order added
            touching = [s for s in lines if clipped(s, q) > 0]
            assert touching == [s for s in segs.near(q) if clipped(s, q) > 0]


def test_glyph_width_is_a_lower_bound_of_the_width_the_typesetter_sets():
    from derive.pdf import mathtex

    for tex in TEX:
        for size in (9, 12):
            assert 0 < _glyph_width(tex) * size <= mathtex.width(tex, size), tex


def test_started_call_runs_while_the_caller_works_and_can_be_cancelled():
    job = start(5, pow, 2, 10)
    assert job.wait().value == 1024 and job.wait().ok     # waited once, kept
    slow = start(5, time.sleep, 60)
    slow.cancel()
    slow.proc.join(2)
    assert not slow.proc.is_alive() and slow.wait().status == "error: cancelled"
    late = start(0.2, time.sleep, 60)
    time.sleep(0.3)                                       # the budget runs from the start
    assert late.wait().status == "gave up after 0.2 s"


@pytest.mark.parametrize("expr", ["(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)",
                                  "log(1 + exp(x*y)) * tanh(x - y)"])
def test_sheets_built_while_sympy_works_equal_sheets_built_after(expr):
    from derive import stage
    from derive.sheets.sheet import build_sheet, sheets_for, symbolic_side

    prog = stage(expr)
    point = {"x": 1, "y": -0.5}
    early = sheets_for(prog, point, key=True, meanwhile=lambda: None)[0]
    late = build_sheet(prog, prog.run(exact=True, **point), static=symbolic_side(prog))
    assert early.symbolic == late.symbolic and early.sizes == late.sizes
    assert early.swell == late.swell and early.paths == late.paths
    assert all(block["agrees"] for block in early.paths)


def test_a_pdf_drawn_while_sympy_works_is_the_pdf_drawn_after(tmp_path):
    from derive import stage
    from derive.sheets.pages import pdf_bytes
    from derive.sheets.sheet import render, sheet, sheets_for

    prog = stage("log(1 + exp(x*y)) * tanh(x - y)")
    point = {"x": 1, "y": -0.5}
    drawn = []             # (the disk cache is off in tests: SymPy works while this draws)
    early = sheets_for(prog, point, key=True,
                       draw=lambda sheets, ready: drawn.append(pdf_bytes(sheets, ready=ready)))
    assert drawn and drawn[0] == render(early)         # derive.sheet draws the same way
    sheet(prog, at=point, path=str(tmp_path / "s.pdf"), key=True, cache=False)
    assert (tmp_path / "s.pdf").read_bytes() == drawn[0]


def test_font_work_kept_on_disk_gives_the_same_pdf(tmp_path, monkeypatch):
    """Fonts' metrics and subsets read back from the disk cache give the bytes made afresh
    (the cache off); a class set large enough to be drawn on two processes gives each sheet
    the PDF drawn alone."""
    from derive import stage
    from derive.core import disk
    from derive.pdf import fonts
    from derive.sheets.pages import pdf_bytes
    from derive.sheets.sheet import render_each, sheets_for

    sheets = sheets_for(stage("x*y + sin(x)"), {"x": 1, "y": 2}, key=True)
    with disk.disabled():
        fresh = pdf_bytes(sheets)
    monkeypatch.setenv("DERIVE_CACHE", "1")
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path))
    for f in (fonts.font, fonts._subset):
        f.cache_clear()
    made = pdf_bytes(sheets)                   # made and saved
    for f in (fonts.font, fonts._subset):
        f.cache_clear()
    assert pdf_bytes(sheets) == made == fresh  # read back from the disk
    many = sheets_for(stage("x*y + sin(x)"), variants=5)
    each = render_each(many)
    assert len(each) == 10 and each == [pdf_bytes([s]) for s in many]


def test_a_sheet_and_a_class_set_never_import_matplotlib_or_fonttools(tmp_path):
    """What kept one sheet over a second: matplotlib (1.2 s to import its PDF backend) and, once
    the fonts are made, fontTools. A scalar sheet, an array sheet and a split class set are
    written in a fresh process that imports neither (the fonts made first, as on any machine
    after its first sheet)."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = dict(os.environ, PYTHONPATH=ROOT, DERIVE_CACHE_DIR=str(tmp_path / "cache"))
    subprocess.run([sys.executable, "-c", "from derive.sheets.pages import warm; warm()"],
                   env=env, check=True, cwd=tmp_path)
    script = (
        "import sys\n"
        "from derive import sheet\n"
        "sheet('log(1 + exp(x*y)) * tanh(x - y)', at={'x': 1, 'y': -0.5}, path='a.pdf', key=True)\n"
        "sheet('x*y + sin(x)', variants=5, split=True, path='c.pdf')\n"
        "sheet('import numpy as np\\ndef f(W, x):\\n    return np.sum(np.tanh(W @ x))\\n',\n"
        "      at={'W': [[1, 2], [0, -1]], 'x': [0.5, -1]}, path='b.pdf', key=True)\n"
        "print(sorted(m for m in ('matplotlib', 'fontTools') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert len(list(tmp_path.glob("c-*.pdf"))) == 10 and (tmp_path / "b.pdf").exists()
