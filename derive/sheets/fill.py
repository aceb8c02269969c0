"""A class set fast: each sheet layout drawn once as a template, each student's numbers filled in.

Drawing a page with matplotlib takes about a second; a class of 200 needs 400 PDFs. So the
first sheet of each kind (worksheet, key) is drawn once with its numbers left out and their
places recorded as ``Slot``s (page, position, alignment, size, colour, and how to get the text
from a sheet). Each student's PDF is then the template plus an incremental update (PDF 1.7,
7.5.6) that adds one content stream per page writing the numbers in the standard Courier font
(no font to embed; its text extracts as written). A sheet whose numbers do not fit the
template (a kink note, a name outside Latin-1) is drawn in full instead.
"""
from __future__ import annotations

import re
from derive.sheets.arrays import symbolic_of
from derive.sheets.pages import pdf_bytes

COURIER_ADVANCE = 0.6         # every Courier glyph is 600/1000 em wide
ASCENT, DESCENT = 0.76, 0.24  # of DejaVu Sans Mono, as matplotlib aligns its text boxes


class Template:
    """A PDF drawn without its numbers, parsed once, filled in per sheet."""

    def __init__(self, pdf: bytes, slots: list):
        self.pdf, self.slots = pdf, slots
        tail = pdf[pdf.rindex(b"trailer"):]
        self.prev = int(re.search(rb"startxref\s+(\d+)", tail).group(1))
        self.size = int(re.search(rb"/Size (\d+)", tail).group(1))
        self.root = re.search(rb"/Root (\d+ \d+ R)", tail).group(1)
        info = re.search(rb"/Info (\d+ \d+ R)", tail)
        self.info = info.group(1) if info else None
        objs = {int(m.group(1)): m.group(2) for m in
                re.finditer(rb"\n(\d+) 0 obj\n(<<(?:(?!stream).)*?>>)\nendobj", pdf, re.S)}
        pages = next(v for v in objs.values() if v.startswith(b"<< /Type /Pages"))
        self.pages = [int(k) for k in re.findall(rb"(\d+) 0 R", pages.split(b"/Kids", 1)[1])]
        self.page_dicts = [objs[k] for k in self.pages]
        resources = {int(m) for d in self.page_dicts for m in re.findall(rb"/Resources (\d+) 0 R", d)}
        fonts = {int(m) for r in resources for m in re.findall(rb"/Font (\d+) 0 R", objs[r])}
        if len(fonts) != 1 or not self.pages:
            raise ValueError("unexpected PDF structure")
        self.font_obj = fonts.pop()
        self.font_dict = objs[self.font_obj]

    def fill(self, texts: list) -> bytes:
        """The template with ``texts`` (one per slot) written in; ``UnicodeEncodeError`` if a
        text is not in Courier's WinAnsi encoding."""
        streams = [[] for _ in self.pages]
        for slot, text in zip(self.slots, texts):
            streams[slot.page].append(_show(slot, text))
        out = bytearray(self.pdf)
        if not out.endswith(b"\n"):
            out += b"\n"
        n = self.size
        font_ref, offsets = n, {}
        n += 1

        def obj(num, body: bytes):
            offsets[num] = len(out)
            out.extend(b"%d 0 obj\n" % num + body + b"\nendobj\n")

        obj(font_ref, b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier "
                      b"/Encoding /WinAnsiEncoding >>")
        obj(self.font_obj, self.font_dict[:-2].rstrip() + b" /FDerive %d 0 R >>" % font_ref)
        for page, d, ops in zip(self.pages, self.page_dicts, streams):
            data = b"".join(ops)
            stream_ref, n = n, n + 1
            obj(stream_ref, b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
            contents = re.search(rb"/Contents (\d+ 0 R|\[[^\]]*\])", d)
            old = contents.group(1).strip(b"[] ")
            obj(page, d.replace(contents.group(0), b"/Contents [ %s %d 0 R ]" % (old, stream_ref)))
        xref = len(out)
        out += b"xref\n0 1\n0000000000 65535 f \n"
        for num in sorted(offsets):
            out += b"%d 1\n%010d 00000 n \n" % (num, offsets[num])
        out += b"trailer\n<< /Size %d /Root %s" % (n, self.root)
        if self.info:
            out += b" /Info %s" % self.info
        out += b" /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (self.prev, xref)
        return bytes(out)


def _show(slot, text: str) -> bytes:
    from matplotlib.colors import to_rgb

    data = text.encode("cp1252")
    size = slot.size
    width = COURIER_ADVANCE * size * len(data)
    x = slot.x - {"left": 0, "center": width / 2, "right": width}[slot.ha]
    y = slot.y + {"top": -ASCENT * size, "bottom": DESCENT * size,
                  "center": -(ASCENT - DESCENT) / 2 * size, "baseline": 0}.get(slot.va, 0)
    r, g, b = to_rgb(slot.color)
    esc = data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    return (b"BT /FDerive %.2f Tf %.3f %.3f %.3f rg 1 0 0 1 %.2f %.2f Tm (" % (size, r, g, b, x, y)
            + esc + b") Tj ET\n")


def template(sheet) -> Template:
    """Draw ``sheet`` once with its numbers left as slots."""

    slots = []
    return Template(pdf_bytes([sheet], slots), slots)


def fillable(sheet) -> bool:
    """Can this sheet be a template's copy (no kink notes, Latin-1 text)?"""
    if getattr(sheet, "notes", None) or not hasattr(sheet, "function_tex"):
        return False
    try:
        (sheet.student + sheet.label).encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def pdf_each(sheets) -> list:
    """One PDF per sheet: sheets of the same kind (worksheet, key) share one drawn template;
    the kinds are drawn and filled in parallel, one process each (both cores)."""
    global _JOBS

    for s in sheets:                           # SymPy's side still in a worker: here, not in forks
        if hasattr(s, "symbolic") and not hasattr(s, "function_tex"):
            symbolic_of(s)
    kinds = {}
    for i, s in enumerate(sheets):
        kinds.setdefault((frozenset(s.blank), bool(s.student), bool(s.label)), []).append(i)
    groups = list(kinds.values())
    _JOBS = sheets
    try:
        if len(groups) > 1 and len(sheets) > 4 and _fork():
            import multiprocessing

            with multiprocessing.get_context("fork").Pool(min(len(groups), 2)) as pool:
                done = pool.map(_group, groups)
        else:
            done = [_group(g) for g in groups]
    finally:
        _JOBS = None
    out = [None] * len(sheets)
    for g, pdfs in zip(groups, done):
        for i, pdf in zip(g, pdfs):
            out[i] = pdf
    return out


_JOBS = None            # the sheets of a pdf_each call, shared with forked workers


def _fork() -> bool:
    import multiprocessing
    import os

    return "fork" in multiprocessing.get_all_start_methods() and (os.cpu_count() or 1) > 1


def _group(indices) -> list:
    """PDFs of sheets of one kind: a template drawn once (if they fit one), then filled in."""

    t, out = None, []
    for i in indices:
        s = _JOBS[i]
        if not fillable(s):
            out.append(pdf_bytes([s]))
            continue
        t = t or template(s)
        try:
            out.append(t.fill([slot.get(s) for slot in t.slots]))
        except UnicodeEncodeError:
            out.append(pdf_bytes([s]))
    return out
