"""Circuit labels without collisions: text measured, numbers placed beside their own wire only.

Every text of a circuit is a box in data units (measured with the metrics of the DejaVu fonts
that matplotlib and the PDF pages both use, ``derive.pdf.fonts``: no matplotlib needed). A gate's label is shrunk until it fits inside its circle, or abbreviated
(``g1``) with a legend. Each wire's pair of numbers (green value above, red gradient below)
is tried at points along each of its segments, lifted clear of the wire's own slope, and put
where it meets no gate, no other text and no other wire; ``place`` reports what still
collides so that the caller can spread the layout and try again.
"""
from __future__ import annotations

import functools
import math

from derive.pdf import fonts

MONO, SANS, ITALIC = "mono", "sans", "sans-oblique"     # derive.pdf.fonts names


@functools.lru_cache(maxsize=4096)
def text_size(s: str, size: float, font: str = SANS) -> tuple:
    """(width, height) of one line of text in points: the advances of its glyphs, and a
    line's box, ascender + descender of DejaVu (1.164 em)."""
    return fonts.width(font, s or " ", size), size * 1.17


def overlap(a, b) -> float:
    """Area shared by two boxes (x0, y0, x1, y1)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def clipped(seg, box) -> float:
    """Length of the part of a segment inside a box (Liang-Barsky)."""
    (x0, y0), (x1, y1) = seg
    dx, dy = x1 - x0, y1 - y0
    lo, hi = 0.0, 1.0
    for p, q in ((-dx, x0 - box[0]), (dx, box[2] - x0), (-dy, y0 - box[1]), (dy, box[3] - y0)):
        if p == 0:
            if q < 0:
                return 0.0
            continue
        r = q / p
        if p < 0:
            lo = max(lo, r)
        else:
            hi = min(hi, r)
    return max(0.0, hi - lo) * math.hypot(dx, dy)


def fit_gate_label(label: str, size: float, room: float, min_size: float) -> float | None:
    """The font size (<= size) at which ``label`` fits in ``room`` points, or None."""
    w, h = text_size(label, size)
    if max(w, h * 0.8) <= room:
        return size
    fit = size * room / max(w, h * 0.8) * 0.97
    return fit if fit >= min_size else None


def place(wires, obstacles, pt, label_size, texts, gap_pt=1.5):
    """Positions of each wire's pair of numbers.

    ``wires``: [(key, [polyline, ...])] (a key's wires run side by side, as the two wires
    of ``x*x``: one pair of numbers for them); ``obstacles``: boxes of gates and fixed texts; ``pt``: data
    units per point; ``texts(key)`` -> (value text, gradient text). Returns ({key: (x, y_value,
    y_grad)}, collisions) with y the bottom of the value and the top of the gradient.

    Boxes and wire segments sit in a grid of cells a few lines of text wide, so a candidate
    position is compared only with what shares a cell with it (everything else is clear of
    it), in the order a list would give: the same positions as comparing with everything,
    in time that grows with the circuit, not with its square."""
    h = text_size("0", label_size, MONO)[1] * pt
    taken, lines = _Grid(4 * h or 1.0), _Grid(4 * h or 1.0)
    for o in obstacles:
        taken.add(o, o)
    own = {}
    for k, qs in wires:
        own[k] = [sg for q in qs for sg in zip(q, q[1:])]
        for (x0, y0), (x1, y1) in own[k]:
            lines.add((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), (k, ((x0, y0), (x1, y1))))
    gap = gap_pt * pt
    out, bad = {}, 0
    for key, _ in wires:
        top, bottom = texts(key)
        w = max(text_size(top, label_size, MONO)[0], text_size(bottom, label_size, MONO)[0]) * pt
        best = None
        for (x0, y0), (x1, y1) in own[key]:
            if x1 - x0 <= 1e-9:
                continue
            slope = (y1 - y0) / (x1 - x0)
            for t in (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.1, 0.9):
                cx = x0 + t * (x1 - x0)
                lo_x, hi_x = cx - w / 2, cx + w / 2
                outside = max(0.0, x0 - lo_x) + max(0.0, hi_x - x1)   # beyond its segment
                rank = 0.001 * abs(t - 0.5) + 0.002 * abs(slope) + 0.05 * outside
                if best is not None and rank >= best[0] - 1e-12:
                    continue                  # costs are >= 0: it cannot beat the best
                ya, yb = y0 + slope * (lo_x - x0), y0 + slope * (hi_x - x0)
                up, down = max(ya, yb) + gap, min(ya, yb) - gap
                boxes = [(lo_x, up, hi_x, up + h), (lo_x, down - h, hi_x, down)]
                cost = 0.0
                for b in boxes:
                    cost += sum(overlap(b, o) for o in taken.near(b)) * 100
                    cost += sum(clipped(sg, b) for k, sg in lines.near(b) if k != key) * 10
                if best is None or cost + rank < best[0] - 1e-12:
                    best = (cost + rank, cost, (cx, up, down), boxes)
        if best is None:
            continue
        bad += best[1] > 1e-9
        for b in best[3]:
            taken.add(b, b)
        out[key] = best[2]
    return out, bad


class _Grid:
    """Boxes (x0, y0, x1, y1) filed by the square cells they touch; ``near(box)`` gives the
    items of those touching the same cells as ``box``, each once, in the order they were added."""

    def __init__(self, cell: float):
        self.cell, self.cells, self.items = cell, {}, []

    def _keys(self, box):
        c = self.cell
        return [(i, j) for i in range(math.floor(box[0] / c), math.floor(box[2] / c) + 1)
                for j in range(math.floor(box[1] / c), math.floor(box[3] / c) + 1)]

    def add(self, box, item):
        n = len(self.items)
        self.items.append(item)
        for k in self._keys(box):
            self.cells.setdefault(k, []).append(n)

    def near(self, box) -> list:
        found = set()
        for k in self._keys(box):
            found.update(self.cells.get(k, ()))
        return [self.items[n] for n in sorted(found)]
