"""The PDF page writer (derive.pdf.document): what pypdf and fontTools read back from its bytes."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
import subprocess
import sys
import zlib

import pypdf
import pytest
from pypdf.generic import StreamObject
from fontTools.ttLib import TTFont

from derive.core.errors import DeriveError
from derive.pdf import fonts
from derive.pdf.boxes import Box, Glyph, Rule
from derive.pdf.document import Document, Page, measure
from tests.geometry import pdf_strokes

SHOWN = "x − y = σ(z) · ∂f/∂x × 2, αβγδ ΔΣΩ"


def _reader(data: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(data), strict=True)


def _words(s: str) -> str:
    return "".join(s.split())


def _formula() -> Box:
    """x² / (a + b), hand-set: numerator, a fraction bar (a rule), a stretched parenthesis."""
    return Box(width=40.0, height=17.0, depth=12.0, rules=[Rule(0.0, 3.0, 40.0, 0.6)], glyphs=[
        Glyph("serif-italic", "x", 14.0, 6.0, 12.0),
        Glyph("serif", "2", 14.0 + fonts.font("serif-italic").advance("x") * 12, 10.0, 8.5),
        Glyph("serif", "(", 0.0, -8.0, 12.0, sy=1.4),
        Glyph("serif-italic", "a", 6.0, -6.0, 12.0),
        Glyph("serif", "∑", 14.0, -6.0, 12.0),         # serif-italic lacks it: fallback font
        Glyph("serif", ")", 30.0, -8.0, 12.0, sy=1.4),
    ])


def _sample() -> Document:
    doc = Document(title="Sheet — σ")
    p = doc.page()
    p.text(50, 800, SHOWN, 12)
    p.text(50, 780, "mono ⋮ code", 10, font="mono", color="#ff0000", gid="code")
    p.line([(72, 700), (200, 700)], color="#707070", gid="blank")
    p.line([(50, 690), (200, 650), (250, 690)], width=1.5, dash=(3, 2))
    p.rect(50, 500, 100, 50, fill="#eeeeee", stroke="#000000")
    p.circle(300, 500, 20, stroke="#0000ff", fill="#ffffff")
    p.polygon([(10, 10), (20, 10), (15, 18)], fill="#222222")
    p.box(300, 300, _formula(), source=r"\frac{x^2}{(a \sum)}", gid="formula")
    q = doc.page(841.89, 595.276)
    q.text(40, 40, "second page", 20, font="sans-bold")
    return doc


@pytest.fixture(scope="module")
def sample():
    doc = _sample()
    return doc, doc.to_bytes()


def _content(reader, k) -> bytes:
    return reader.pages[k].get_contents().get_data()


def _fonts(reader) -> dict:
    """{base font name without its subset tag: Type0 font dictionary}, over every page."""
    out = {}
    for page in reader.pages:
        for f in page["/Resources"]["/Font"].values():
            f = f.get_object()
            out[f["/BaseFont"].split("+", 1)[1]] = f
    return out


def test_pages_and_mediabox(sample):
    _, data = sample
    r = _reader(data)
    assert data.startswith(b"%PDF-1.4\n%") and max(data[9:14]) > 127
    assert len(r.pages) == 2
    assert [float(v) for v in r.pages[0].mediabox] == [0, 0, 595.276, 841.89]
    assert [float(v) for v in r.pages[1].mediabox] == [0, 0, 841.89, 595.276]
    assert r.metadata["/Title"] == "Sheet — σ" and r.metadata["/Creator"] == "derive"


def test_text_layer_is_the_text_shown(sample):
    doc, data = sample
    r = _reader(data)
    lines = r.pages[0].extract_text().splitlines()
    assert lines[0] == SHOWN                          # U+2212, not a hyphen; σ ∂ × · Greek
    assert lines[1] == "mono ⋮ code"                  # ⋮ drawn from the fallback font
    formula = [it for it in doc.pages[0].items if it.gid == "formula"][0]
    assert formula.text == "x2(a∑)" and formula.source.startswith(r"\frac")
    assert _words(formula.text) in _words(r.pages[0].extract_text())
    assert r.pages[1].extract_text() == "second page"


def test_same_document_same_bytes(sample):
    _, data = sample
    again = _sample().to_bytes()
    assert again == data
    assert b"CreationDate" not in data and b"ModDate" not in data


def test_xref_offsets_point_at_their_objects(sample):
    _, data = sample
    start = int(data.rsplit(b"startxref\n", 1)[1].split()[0])
    assert data[start:start + 5] == b"xref\n"
    head, *rows = data[start:].split(b"trailer", 1)[0].splitlines()[1:]
    first, count = map(int, head.split())
    assert first == 0 and len(rows) == count and rows[0] == b"0000000000 65535 f "
    for i, row in enumerate(rows[1:], 1):
        off = int(row[:10])
        assert data[off:].startswith(f"{i} 0 obj\n".encode())
    assert f"/Size {count}".encode() in data


@pytest.mark.parametrize("ha", ["left", "center", "right"])
@pytest.mark.parametrize("va", ["baseline", "top", "bottom", "center"])
def test_text_alignment(ha, va):
    p = Page()
    s, size, f = "Wide × text", 14.0, fonts.font("sans")
    t = p.text(100, 200, s, size, ha=ha, va=va)
    w, up, down = fonts.width("sans", s, size), f.ascent * size, f.descent * size
    x0 = {"left": 100, "center": 100 - w / 2, "right": 100 - w}[ha]
    base = {"baseline": 200, "top": 200 - up, "bottom": 200 + down, "center": 200 - (up - down) / 2}[va]
    assert t.box == pytest.approx((x0, base - down, x0 + w, base + up))
    assert (t.x, t.y) == pytest.approx((x0, base))
    assert measure(s, size) == pytest.approx(w) and w > 50
    assert (t.text, t.font, t.size, t.color) == (s, "sans", size, "#222222")
    y = {"top": t.box[3], "bottom": t.box[1], "center": (t.box[1] + t.box[3]) / 2,
         "baseline": t.y}[va]
    assert y == pytest.approx(200)


@pytest.mark.parametrize("ha,va", [("left", "baseline"), ("center", "center"), ("right", "top"),
                                   ("center", "bottom")])
def test_box_alignment(ha, va):
    b = _formula()
    m = Page().box(100, 200, b, ha=ha, va=va)
    x0 = {"left": 100, "center": 80, "right": 60}[ha]
    base = {"baseline": 200, "top": 183, "bottom": 212, "center": 197.5}[va]
    assert m.box == pytest.approx((x0, base - 12, x0 + 40, base + 17))
    assert (m.x, m.y) == pytest.approx((x0, base))


def test_glyphs_land_where_placed(sample):
    """Each Tm of the first line puts its run where fonts.width says, in the fallback's font."""
    doc, data = sample
    ops = _content(_reader(data), 0).decode()
    t = doc.pages[0].items[1]
    tms = re.findall(r"([\d.]+) 0 0 ([\d.]+) ([\d.]+) ([\d.]+) Tm <([0-9A-F]*)> Tj", ops)
    mono = [m for m in tms if float(m[3]) == 780]
    assert [(f, s) for f, s in fonts.runs("mono", t.text)] == [("mono", "mono "), ("sans", "⋮"),
                                                                 ("mono", " code")]
    x = 50.0
    for (f, s), (size, _, mx, _, hexes) in zip(fonts.runs("mono", t.text), mono):
        assert float(mx) == pytest.approx(x, abs=1e-3) and float(size) == 10
        assert hexes == "".join(f"{fonts.font(f).glyph(c):04X}" for c in s)
        x += fonts.font(f).width(s, 10)
    assert len(mono) == 3
    paren = [m for m in tms if m[4] == f"{fonts.font('serif').glyph('('):04X}"]
    assert paren and float(paren[0][1]) == pytest.approx(12 * 1.4)          # stretched by sy


def test_gray_line_is_a_plain_stroke(sample):
    _, data = sample
    strokes = pdf_strokes(data)
    assert (0, 0.439, 72.0, 200.0, 700.0) in strokes
    ops = _content(_reader(data), 0).decode()
    assert "0.439 G" in ops and " cm" not in ops
    assert "72 700 m 200 700 l S" in ops
    assert "[3 2] 0 d" in ops and "1.5 w" in ops
    assert "1 0 0 rg" in ops and "0 0 1 RG" in ops       # colours that are not gray
    assert "0.933 g" in ops and "0.133 g" in ops


def test_shapes(sample):
    doc, data = sample
    ops = _content(_reader(data), 0).decode()
    circle = [ln for ln in ops.splitlines() if ln.startswith("320 500 m")]
    assert len(circle) == 1 and circle[0].count(" c") == 4 and circle[0].endswith("h B")
    assert "50 500 100 50 re B" in ops
    assert "10 10 m 20 10 l 15 18 l h f" in ops
    assert "300 303 40 0.6 re f" in ops                  # the formula's rule, from its origin
    items = doc.pages[0].items
    assert items[5].box == (280, 480, 320, 520)
    assert items[6].box == (10, 10, 20, 18)


def test_one_font_object_per_font(sample):
    _, data = sample
    r = _reader(data)
    used = _fonts(r)
    assert set(used) == {"DejaVuSans", "DejaVuSansMono", "STIXGeneral-Regular",
                         "STIXGeneral-Italic", "DejaVuSans-Bold"}
    page1 = [f.get_object()["/BaseFont"] for f in r.pages[1]["/Resources"]["/Font"].values()]
    assert len(page1) == 1 and page1[0].endswith("+DejaVuSans-Bold")
    assert data.count(b"/Subtype /Type0") == 5
    for f in used.values():
        assert f["/Encoding"] == "/Identity-H"
        cid = f["/DescendantFonts"][0].get_object()
        assert cid["/Subtype"] == "/CIDFontType2" and cid["/CIDToGIDMap"] == "/Identity"
        desc = cid["/FontDescriptor"]
        for key in ("/Flags", "/FontBBox", "/ItalicAngle", "/Ascent", "/Descent", "/CapHeight",
                    "/StemV"):
            assert key in desc
    assert used["STIXGeneral-Italic"]["/DescendantFonts"][0]["/FontDescriptor"]["/ItalicAngle"] < 0
    assert used["DejaVuSans"]["/DescendantFonts"][0]["/FontDescriptor"]["/ItalicAngle"] == 0


def _shown(r, base):
    """{glyph id: character} of the glyphs the content streams draw with font ``base``."""
    out = {}
    for k, page in enumerate(r.pages):
        names = {n: f.get_object()["/BaseFont"].split("+", 1)[1]
                 for n, f in page["/Resources"]["/Font"].items()}
        font = None
        for line in _content(r, k).decode().splitlines():
            m = re.match(r"(/F\d+) 1 Tf", line)
            font = names[m.group(1)] if m else font
            for hexes in re.findall(r"<([0-9A-F]+)> Tj", line):
                if font == base:
                    out.update({int(hexes[i:i + 4], 16): None for i in range(0, len(hexes), 4)})
    return out


@pytest.mark.parametrize("name", ["sans", "mono", "serif-italic"])
def test_embedded_font_is_truetype_with_the_glyphs_drawn(sample, name):
    _, data = sample
    r = _reader(data)
    f = fonts.font(name)
    type0 = _fonts(r)[f.base]
    cid = type0["/DescendantFonts"][0].get_object()
    tt = TTFont(io.BytesIO(cid["/FontDescriptor"]["/FontFile2"].get_data()))
    order = tt.getGlyphOrder()
    drawn = _shown(r, f.base)
    assert drawn
    widths = cid["/W"]
    listed = {}
    for i in range(0, len(widths), 2):
        listed.update({widths[i] + j: w for j, w in enumerate(widths[i + 1])})
    cmap = type0["/ToUnicode"].get_data().decode()
    back = {int(g, 16): chr(int(u, 16)) for g, u in re.findall(r"<([0-9A-F]{4})> <([0-9A-F]{4})>", cmap)}
    uni = f.unicode_of()
    for g in drawn:
        glyph = tt["glyf"][order[g]]
        assert uni[g] == " " or glyph.numberOfContours != 0, f"glyph {g} has no outline"
        assert listed[g] == round(1000 * f.adv[g])
        assert f.glyph(back[g]) == g


def test_shared_glyph_maps_to_the_character_drawn(monkeypatch):
    """A glyph two code points share (here U+2010 given the hyphen's glyph) maps back to the
    character the page drew with it."""
    real = fonts.font
    sans = dataclasses.replace(real("sans"), cmap={**real("sans").cmap, 0x2010: real("sans").glyph("-")})
    monkeypatch.setattr(fonts, "font", lambda name: sans if name == "sans" else real(name))
    for s in ("a\u2010b", "a-b"):
        doc = Document()
        doc.page().text(10, 10, s, 10)
        r = _reader(doc.to_bytes())
        assert r.pages[0].extract_text() == s
        cmap = _fonts(r)["DejaVuSans"]["/ToUnicode"].get_data().decode()
        assert f"<{sans.glyph('-'):04X}> <{ord(s[1]):04X}>" in cmap


def test_remove():
    p = Document().page()
    a, b = p.text(0, 0, "a", 10), p.line([(0, 0), (1, 1)])
    p.remove(a)
    assert p.items == [b]
    with pytest.raises(DeriveError, match="not on this page"):
        p.remove(a)


def test_empty_document_and_page():
    doc = Document()
    assert len(_reader(doc.to_bytes()).pages) == 0
    doc.page()
    r = _reader(doc.to_bytes())
    assert len(r.pages) == 1 and r.pages[0].extract_text() == ""


@pytest.mark.parametrize("call,message", [
    (lambda p: p.text(0, 0, "a", 10, color="red"), "#rrggbb"),
    (lambda p: p.text(0, 0, "a", 10, color="#12345g"), "#rrggbb"),
    (lambda p: p.text(0, 0, "a", 10, color="#+1+1+1"), "#rrggbb"),
    (lambda p: p.line([(0, 0), (1, 1)], color=[0, 0, 0]), "#rrggbb"),
    (lambda p: p.text(0, 0, "a", 10, font="comic"), "unknown font"),
    (lambda p: p.text(0, 0, "a", 10, ha="middle"), "ha='middle'"),
    (lambda p: p.text(0, 0, "a", 10, va="up"), "va='up'"),
    (lambda p: p.text(0, 0, "a\nb", 10), "line break"),
    (lambda p: p.text(float("nan"), 0, "a", 10), "finite"),
    (lambda p: p.line([(0, 0)]), "at least 2 points"),
    (lambda p: p.line([(0, 0), (1, "x")]), "not a number"),
    (lambda p: p.line([(0, 0), (1, 1)], dash=(0, 0)), "dash"),
    (lambda p: p.polygon([(0, 0), (1, 1)], fill="#000000"), "at least 3 points"),
    (lambda p: p.circle(0, 0, -1), "radius is -1: give at least 0 points"),
    (lambda p: p.text(0, 0, "a", 0), "text size is 0"),
    (lambda p: p.rect(0, 0, 1, 1, stroke="#000000", width=-1), "line width is -1"),
    (lambda p: Document().page(0, 10), "positive size"),
    (lambda p: p.box(0, 0, "x^2"), "Box"),
    (lambda p: p.box(0, 0, Box(glyphs=[Glyph("nope", "x", 0, 0, 10)])), "unknown font"),
])
def test_bad_input_is_one_clear_line(call, message):
    with pytest.raises(DeriveError, match=re.escape(message)) as err:
        call(Document().page())
    assert "\n" not in str(err.value)


def test_streams_are_compressed(sample):
    _, data = sample
    r = _reader(data)
    streams = [o for o in (r.get_object(i) for i in range(1, int(r.trailer["/Size"])))
               if isinstance(o, StreamObject)]
    assert len(streams) == 2 + 5 * 2                   # two pages; each font's program and CMap
    for o in streams:
        assert o["/Filter"] == "/FlateDecode" and o.get_data()
    for m in re.finditer(rb"/Length (\d+) >>\nstream\n", data):      # each /Length is exact
        end = m.end() + int(m.group(1))
        assert data[end:end + 10] == b"\nendstream"


def test_other_process_same_bytes_without_matplotlib(sample):
    """Another process (another hash seed, a clock a day ahead, fonts subset afresh) writes the
    same bytes, and never imports matplotlib."""
    code = ("import hashlib, sys, time\nnow = time.time\ntime.time = lambda: now() + 86400\n"
            "from tests.test_pdf_document import _sample\n"
            "print(hashlib.sha256(_sample().to_bytes()).hexdigest())\n"
            "print('matplotlib' in sys.modules)")
    env = {**os.environ, "PYTHONHASHSEED": "12345", "DERIVE_CACHE": "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=env, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [hashlib.sha256(sample[1]).hexdigest(), "False"]


def _render(data: bytes, dpi: int):
    """Page 1 rendered by poppler's pdftoppm as a gray image (rows from the top), or a skip."""
    import shutil

    import numpy as np

    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) is not installed: the pypdf checks stand alone")
    out = subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-f", "1", "-l", "1"], input=data,
                         capture_output=True, timeout=60, check=True).stdout
    magic, w, h, top, rest = out.split(maxsplit=4)
    assert magic == b"P5" and top == b"255"
    return np.frombuffer(rest, dtype=np.uint8).reshape(int(h), int(w))


def test_rendered_ink_lies_in_each_box():
    """Rendered by poppler, each text's and formula's ink falls inside its ``.box`` and fills most
    of its width; the gray blank is drawn at its gray level on its row."""
    import numpy as np

    doc = Document()
    p = doc.page()
    items = [p.text(60, 780, "x − y = σ(z) · ∂f", 16, ha="left", va="top"),
             p.text(300, 700, "Wide × text (gy)", 12, font="serif", ha="center", va="center"),
             p.text(540, 600, "mono ⋮ code", 10, font="mono", ha="right", va="bottom"),
             p.box(300, 400, _formula(), ha="center", va="center")]
    blank = p.line([(72, 300), (200, 300)], width=1, color="#707070")
    dpi = 144
    img = _render(doc.to_bytes(), dpi)
    s = dpi / 72

    def px(x, y):                                     # page points -> (column, row)
        return x * s, img.shape[0] - y * s

    for it in items:
        x0, y0, x1, y1 = it.box
        (c0, r1), (c1, r0) = px(x0 - 12, y0 - 12), px(x1 + 12, y1 + 12)
        region = img[int(r0):int(r1), int(c0):int(c1)] < 128
        rows, cols = np.nonzero(region)
        assert rows.size, f"nothing drawn for {it.text!r}"
        ink = (c0 + cols.min(), r0 + rows.min(), c0 + cols.max() + 1, r0 + rows.max() + 1)
        (b0, b3), (b2, b1) = px(x0, y0), px(x1, y1)
        assert b0 - 2 <= ink[0] and ink[2] <= b2 + 2 and b1 - 2 <= ink[1] and ink[3] <= b3 + 2, \
            (it.text, ink, (b0, b1, b2, b3))
        assert ink[2] - ink[0] > 0.85 * (b2 - b0), it.text
    c0, row = px(blank.box[0], 300)
    c1, _ = px(blank.box[2], 300)
    line = img[int(row) - 1:int(row) + 2, int(c0) + 2:int(c1) - 2]
    assert abs(int(line.min()) - 0x70) <= 3                      # the blank's gray
    assert img[int(row) - 6:int(row) - 3, int(c0):int(c1)].min() == 255   # nothing above it


def test_qpdf_finds_no_errors(sample, tmp_path):
    import shutil

    if not shutil.which("qpdf"):
        pytest.skip("qpdf is not installed: the pypdf checks stand alone")
    path = tmp_path / "sample.pdf"
    path.write_bytes(sample[1])
    out = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, timeout=60)
    assert out.returncode == 0 and b"No syntax or stream encoding errors" in out.stdout, out.stdout
