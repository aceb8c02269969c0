"""Geometry of drawn sheets and circuits, measured as drawn (tests only).

``circuit_problems(fig)`` lists every collision in a circuit drawn with matplotlib: two texts
that overlap, a gate label that leaves its circle, a text on a wire it does not belong to, a
text on a gate; ``page_problems(page)`` finds the same on a derive.pdf Page's display list.
"""
from __future__ import annotations

import math

TOL = 0.5          # pixels: touching is not overlapping


def _box(t, r):
    b = t.get_window_extent(r)
    return (b.x0 + TOL, b.y0 + TOL, b.x1 - TOL, b.y1 - TOL)


def _overlap(a, b):
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def _seg_hits_box(p, q, box):
    (x0, y0), (x1, y1) = p, q
    dx, dy = x1 - x0, y1 - y0
    lo, hi = 0.0, 1.0
    for pp, qq in ((-dx, x0 - box[0]), (dx, box[2] - x0), (-dy, y0 - box[1]), (dy, box[3] - y0)):
        if pp == 0:
            if qq < 0:
                return False
            continue
        r = qq / pp
        if pp < 0:
            lo = max(lo, r)
        else:
            hi = min(hi, r)
    return hi > lo


def _wires(ax):
    """{wire key: (src, dst, [display points])} from the drawn lines and arrows."""
    out = {}
    for ln in ax.lines:
        gid = ln.get_gid() or ""
        if gid.startswith("wire:"):
            _, k, src, dst = gid.split(":", 3)
            out.setdefault(k, [src, dst, []])[2].append(list(ln.get_transform().transform(ln.get_xydata())))
    for t in ax.texts:
        gid = t.get_gid() or ""
        if gid.startswith("wire:") and hasattr(t, "xyann"):
            _, k, src, dst = gid.split(":", 3)
            pts = ax.transData.transform([t.xyann, t.xy])
            out.setdefault(k, [src, dst, []])[2].append(list(pts))
    return out


def _owner(gid):
    kind, _, name = gid.partition(":")
    return kind, name


def circuit_problems(fig) -> list:
    """Collisions in the circuits drawn on a matplotlib Figure (its renderer measures the texts)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    r = FigureCanvasAgg(fig).get_renderer()
    problems = []
    for ax in fig.axes:
        texts = [t for t in ax.texts if t.get_text().strip() and (t.get_gid() or "")[:5] != "wire:"]
        boxes = [(t.get_gid() or "?", t.get_text(), _box(t, r)) for t in texts]
        circles = {}
        for p in ax.patches:
            gid = p.get_gid() or ""
            if gid.startswith("circle:"):
                c = ax.transData.transform(p.center)
                rad = abs(ax.transData.transform((p.center[0] + p.radius, p.center[1]))[0] - c[0])
                circles[gid[7:]] = (c, rad)
        problems += _problems(boxes, circles, _wires(ax))
    return problems


CIRCUIT = ("gate", "name", "input", "total", "output", "value", "grad", "legend", "loop", "caption")


def page_problems(page, tol=0.36) -> list:
    """The same collisions found on a derive.pdf Page's display list: texts by their ``.box``
    (page points, ``tol`` = matplotlib's half pixel at 100 dpi), gates by their circles, wires by
    the points of the paths whose gid is ``wire:k:src:dst`` (lines and arrow heads); and a
    circuit's text on any other text of the page (a heading, a table)."""
    boxes, circles, wires, others = [], {}, {}, []
    for it in page.items:
        gid = getattr(it, "gid", None) or ""
        kind, _, name = gid.partition(":")
        if getattr(it, "text", "").strip():
            x0, y0, x1, y1 = it.box
            (boxes if kind in CIRCUIT else others).append(
                (gid, it.text, (x0 + tol, y0 + tol, x1 - tol, y1 - tol)))
        elif kind == "circle":
            x0, y0, x1, y1 = it.box
            circles[name] = (((x0 + x1) / 2, (y0 + y1) / 2), (x1 - x0) / 2)
        elif kind == "wire":
            k, src, dst = name.split(":", 2)
            wires.setdefault(k, [src, dst, []])[2].append([tuple(p) for p in it.points])
    return _problems(boxes, circles, wires) + [
        f"{s!r} ({gid}) overlaps {t!r} on the page" for gid, s, b in boxes
        for _, t, o in others if _overlap(b, o)]


def _problems(boxes, circles, wires) -> list:
    """boxes [(gid, text, box)], circles {name: (centre, radius)}, wires {k: (src, dst, [points])}."""
    problems = []
    for i, (g1, s1, b1) in enumerate(boxes):
        for g2, s2, b2 in boxes[i + 1:]:
            if _overlap(b1, b2) and not {g1.split(":")[0], g2.split(":")[0]} == {"gate"} \
                    and not (g1.startswith("gate:") or g2.startswith("gate:")):
                problems.append(f"{s1!r} ({g1}) overlaps {s2!r} ({g2})")
    for gid, s, b in boxes:
        kind, name = _owner(gid)
        if kind == "gate":
            (cx, cy), rad = circles[name]
            corners = [(b[0], b[1]), (b[0], b[3]), (b[2], b[1]), (b[2], b[3])]
            if any(math.hypot(x - cx, y - cy) > rad for x, y in corners):
                problems.append(f"gate label {s!r} leaves its gate {name}")
            continue
        for cname, ((cx, cy), rad) in circles.items():
            nx, ny = min(max(cx, b[0]), b[2]), min(max(cy, b[1]), b[3])
            if math.hypot(nx - cx, ny - cy) < rad:
                problems.append(f"{s!r} ({gid}) sits on gate {cname}")
    for k, (src, dst, polys) in wires.items():
        for gid, s, b in boxes:
            kind, name = _owner(gid)
            if kind == "gate":
                continue
            if kind in ("value", "grad") and k in name.split(","):
                own = True
            elif kind in ("name", "input", "total", "output"):
                key = "<out>" if kind == "output" else name
                own = key in (src, dst)
            else:
                own = False
            if own:
                continue
            if any(_seg_hits_box(p, q, b) for pts in polys for p, q in zip(pts, pts[1:])):
                problems.append(f"{s!r} ({gid}) sits on wire {src} -> {dst}")
    return problems


def pdf_strokes(data: bytes) -> list:
    """Every straight horizontal stroke in a PDF: (page, gray level, x0, x1, y) in points, read
    from the content streams (matplotlib draws each line as ``m l S`` in page coordinates)."""
    import io

    import pypdf
    from pypdf.generic import ContentStream

    reader = pypdf.PdfReader(io.BytesIO(data))
    out = []
    for k, page in enumerate(reader.pages):
        gray, path, ctm_stack, ctm = None, [], [], (1, 0, 0, 1, 0, 0)
        for operands, op in ContentStream(page.get_contents(), reader).operations:
            if op == b"G":
                gray = round(float(operands[0]), 3)
            elif op == b"RG":
                gray = None
            elif op == b"q":
                ctm_stack.append((ctm, gray))
            elif op == b"Q":
                ctm, gray = ctm_stack.pop() if ctm_stack else (ctm, gray)
            elif op == b"cm":
                ctm = tuple(float(v) for v in operands)
            elif op == b"m":
                path = [tuple(float(v) for v in operands)]
            elif op == b"l":
                path.append(tuple(float(v) for v in operands))
            elif op == b"S":
                if len(path) == 2 and abs(path[0][1] - path[1][1]) < 1e-6 and ctm[:4] == (1, 0, 0, 1):
                    (x0, y), (x1, _) = path
                    out.append((k, gray, min(x0, x1) + ctm[4], max(x0, x1) + ctm[4], y + ctm[5]))
                path = []
            elif op in (b"f", b"n", b"B", b"b", b"f*", b"s"):
                path = []
    return out


def document():
    """A derive.pdf document to draw on."""
    from derive.pdf.document import Document

    return Document()


def page(width=595.276, height=841.89):
    """A page to draw on (of ``document()``)."""
    return document().page(width, height)
