"""Sheets measured as drawn: no circuit label collides, blanks leave room to write, the PDF's
text layer is the text shown. Every catalogue function, small family members, the seeds'
examples and the NumPy layers (two-layer, batchnorm) are checked."""
import io

import matplotlib
import numpy as np
import pypdf
import pytest

from derive import stage
from derive.circuit.draw import RC
from derive.symbolic.examples import BY_NAME, CATALOGUE, CS231N_FXY, stage_example
from derive.symbolic.families import FAMILIES, build
from derive.sheets.sheet import render, sheets_for
from derive.circuit.pens import to_page
from tests.geometry import circuit_problems, page, page_problems

BATCHNORM = '''import numpy as np


def batchnorm(x, gamma, beta):
    mu = np.mean(x, axis=0)
    xc = x - mu
    var = np.mean(xc ** 2, axis=0)
    std = np.sqrt(var + 1e-5)
    xhat = xc / std
    out = gamma * xhat + beta
    return np.sum(out ** 2)
'''
BATCHNORM_AT = {"x": [[1, 2, 0], [3, -1, 1], [0, 1, 2], [2, 0, -1]], "gamma": [1, 2, -1],
                "beta": [0, 1, 0.5]}
LOSS_AT = {"W1": [[1, -2], [0, 1], [2, 1]], "b": [0.5, -0.5, 0], "W2": [[1, 0, -1], [2, 1, 0]],
           "x": [1, -1], "y": [0.5, 1]}
LOGEXP = "log(1 + exp(x*y)) * tanh(x - y)"


def two_layer():
    from derive.symbolic.jacobians import SHEET

    return stage("import numpy as np\n\n" + SHEET)


def _family_members():
    out = []
    for name, fam in FAMILIES.items():
        for n in (1, 2, 3):
            inst = build(name, n)
            out.append(pytest.param(inst, id=f"{name}-{n}"))
    return out


def _point(prog, domain, seed):
    rng = np.random.default_rng(seed)

    def draw():
        return round(float(rng.uniform(*domain)), 1)

    return {n: draw() if size is None else [draw() for _ in range(size)] for n, size in prog.params}


def _figure(circuit, numbers=True):
    with matplotlib.rc_context(RC):
        return circuit.figure(numbers=numbers)


def _problems(circuit, surface, numbers=True):
    """Collisions of the circuit drawn with matplotlib, or on a derive.pdf page (the sheets)."""
    if surface == "mpl":
        return circuit_problems(_figure(circuit, numbers))
    rec = circuit.record(numbers=numbers)
    w, h = circuit.size()
    pg = page()
    to_page(rec, pg, 20, 30, w * 72, h * 72)
    return page_problems(pg)


SURFACES = pytest.mark.parametrize("surface", ["mpl", "page"])


@SURFACES
@pytest.mark.parametrize("ex", CATALOGUE, ids=[e.name for e in CATALOGUE])
@pytest.mark.parametrize("numbers", [True, "blanks"])
def test_catalogue_circuits_have_no_collisions(ex, numbers, surface):
    prog = stage_example(ex)
    assert _problems(prog.circuit(**ex.point), surface, numbers) == []


@SURFACES
@pytest.mark.parametrize("inst", _family_members())
def test_family_circuits_have_no_collisions(inst, surface):
    prog = stage(inst.text)
    assert _problems(prog.circuit(**_point(prog, inst.domain, inst.n)), surface) == []


@SURFACES
@pytest.mark.parametrize("gates", ["grouped", "primitive"])
def test_neuron_circuit_has_no_collisions(gates, surface):
    prog = stage_example(BY_NAME["sigmoid-neuron"], gates)
    assert _problems(prog.circuit(w=[2, -3, -3], x=[-1, -2]), surface) == []


@SURFACES
@pytest.mark.parametrize("name", ["two-layer", "batchnorm"])
def test_array_circuits_have_no_collisions(name, surface):
    from derive.circuit.draw import circuit
    from derive.sheets.arrays import as_arrays

    prog, at = (two_layer(), LOSS_AT) if name == "two-layer" else (stage(BATCHNORM), BATCHNORM_AT)
    assert _problems(circuit(prog, **as_arrays(prog, at)), surface) == []


def test_the_notes_circuit_has_no_crossing_between_num_and_xpysqr():
    c = stage(CS231N_FXY).circuit(x=3, y=-4)

    def path(src, dst):
        e = next(e for e in c.edges if e.src == src and e.dst == dst)
        return [(c.nodes[n].x, c.nodes[n].y) for n in [e.src] + e.via + [e.dst]]

    a, b = path("x", "num"), path("xpy", "xpysqr")
    for p, q in zip(a, a[1:]):
        for r, s in zip(b, b[1:]):
            assert not _cross(p, q, r, s), (p, q, r, s)


def _cross(p, q, r, s):
    def side(a, b, c):
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    return side(p, q, r) * side(p, q, s) < 0 and side(r, s, p) * side(r, s, q) < 0


# ---- whole sheets -----------------------------------------------------------------------------

SHEETS = {
    "fxy": lambda: (stage(CS231N_FXY), {"x": 3, "y": -4}),
    "neuron": lambda: (stage_example(BY_NAME["sigmoid-neuron"]), {"w": [2, -3, -3], "x": [-1, -2]}),
    "logexp": lambda: (stage(LOGEXP), {"x": 1, "y": -0.5}),
    "two-layer": lambda: (two_layer(), LOSS_AT),
    "batchnorm": lambda: (stage(BATCHNORM), BATCHNORM_AT),
}


def pages_of(sheets):
    """Each page of the sheets as drawn for the PDF (``derive.pdf`` pages: their items)."""
    from derive.sheets.pages import document

    return document(sheets).pages


@pytest.fixture(scope="module", params=sorted(SHEETS))
def drawn(request):
    prog, at = SHEETS[request.param]()
    key = sheets_for(prog, at, key=True)
    ws = sheets_for(prog, at, worksheet=True)
    return request.param, prog, at, pages_of(ws), pages_of(key), render(ws), render(key)


def test_sheet_circuits_have_no_collisions(drawn):
    name, _, _, ws, key, _, _ = drawn
    for page in ws + key:
        assert page_problems(page) == [], name


MM = 72 / 25.4      # points per millimetre


def test_blanks_leave_room_to_write(drawn):
    """Number blanks >= 45 mm, matrix entries >= 15 mm, measured in the worksheet's PDF."""
    from derive.sheets.arrays import ENTRY_COLOR
    from derive.sheets.flow import BLANK_COLOR
    from tests.geometry import pdf_strokes

    name, prog, at, _, _, ws_pdf, key_pdf = drawn
    gray = {round(int(c[1:3], 16) / 255, 3): kind for c, kind in
            ((BLANK_COLOR, "number"), (ENTRY_COLOR, "entry"))}
    strokes = [(gray.get(g), x1 - x0) for _, g, x0, x1, _ in pdf_strokes(ws_pdf)]
    numbers = [w for kind, w in strokes if kind == "number"]
    entries = [w for kind, w in strokes if kind == "entry"]
    arrays = prog.arrays
    assert numbers or entries
    assert all(w >= 45 * MM for w in numbers), (name, min(numbers) / MM)
    assert all(w >= 15 * MM for w in entries), (name, min(entries) / MM)
    if arrays:       # every entry of every value and gradient on the sheet is a blank
        r = prog.run(**{k: np.asarray(v, dtype=float) for k, v in at.items()})
        want = sum(min(np.size(v), 64) for v in r.values.values() if np.ndim(v))
        assert len(entries) >= want
    else:
        asked = [bl for bl in prog.backward if not bl.seed]     # the seed df = 1 is printed whole
        assert len(numbers) >= len(prog.forward) + len(asked) + len(prog.inputs)
    assert not [w for kind, w in ((gray.get(g), 0) for _, g, *_ in pdf_strokes(key_pdf))
                if kind is not None]                                  # the key has no blanks


def _squash(s):
    return "".join(s.split())


def test_pdf_text_is_the_text_shown(drawn):
    """Every text on the key, as drawn, is in the PDF's text layer character for character
    (minus signs, ×, σ, ∂ included), and nothing extracts as Computer Modern's '¡'."""
    name, prog, _, _, key, _, key_pdf = drawn
    reader = pypdf.PdfReader(io.BytesIO(key_pdf))
    text = _squash("".join(p.extract_text() for p in reader.pages))
    shown = [it.source or it.text if hasattr(it, "source") else it.text
             for page in key for it in page.items if hasattr(it, "text")]
    plain = [s for s in shown if s.strip() and "$" not in s]
    assert len(plain) > 20
    missing = [s for s in plain if _squash(s) not in text]
    assert missing == [], name
    assert "¡" not in text
    assert "·" in text and ("×" in text or prog.arrays)
    maths = [s for s in shown if "$" in s]
    if any("-" in s or "−" in s for s in maths):
        assert "−" in text                   # a math minus is U+2212 in the text layer
    if name in ("fxy", "neuron"):
        assert "σ" in text and "∂" in text


def test_a_label_too_long_for_its_gate_is_abbreviated_with_a_legend():
    c = stage("x * y + x").circuit(x=2, y=3)
    gate = next(n for n in c.nodes.values() if n.kind == "gate")
    gate.label = "a_gate_label_far_too_long_for_a_circle"
    fig = _figure(c)
    texts = {t.get_gid(): t.get_text() for ax in fig.axes for t in ax.texts}
    assert texts[f"gate:{gate.name}"] == "g1"
    assert "g1: a_gate_label_far_too_long_for_a_circle" in texts["legend"]
    assert circuit_problems(fig) == []
