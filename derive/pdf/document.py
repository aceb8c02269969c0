"""PDF pages as display lists (text, typeset formulas, lines, shapes), written as deterministic PDF bytes.

``Document().page()`` gives a ``Page``; its drawing methods append items to ``page.items`` (in
drawing order) and return them, each with ``.box = (x0, y0, x1, y1)`` in page points and its
``.gid``, so layouts and geometry tests read where things landed. Coordinates are PDF points,
origin at the page's lower left, y up. ``Document.to_bytes()`` writes the whole PDF: content
streams (glyph ids in the fonts of ``derive.pdf.fonts``, fallback fonts for missing characters),
and the fonts used, embedded as subsets with a text layer that is the text shown
(``derive.pdf.objects``). No dates, no random ids: the same document gives the same bytes.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from derive.core.errors import DeriveError
from derive.pdf import fonts
from derive.pdf.boxes import Box
from derive.pdf.objects import Writer, circle, font_objects, num, paint, stream, text_string

A4 = (595.276, 841.89)
HA = {"left": 0.0, "center": 0.5, "right": 1.0}
VA = ("baseline", "top", "bottom", "center")


def measure(s: str, size: float, font: str = "sans") -> float:
    """Width in points of ``s`` set at ``size`` points (missing characters in fallback fonts)."""
    _font(font)
    return fonts.width(font, s, size)


def _font(name):
    if name not in fonts.FILES:
        raise DeriveError(f"unknown font {name!r}: write one of {', '.join(fonts.FILES)}")
    return fonts.font(name)


def _number(v, what, low=-math.inf):
    """``v`` as a finite float of at least ``low`` points."""
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise DeriveError(f"{what} {v!r} is not a number: give a number in points") from None
    if not math.isfinite(v):
        raise DeriveError(f"{what} is {v}: give a finite number in points")
    if v < low:
        raise DeriveError(f"{what} is {v:g}: give at least {low:g} points")
    return v


def _points(points, least, what):
    pts = [(_number(p[0], "x"), _number(p[1], "y")) for p in points]
    if len(pts) < least:
        raise DeriveError(f"a {what} needs at least {least} points, got {len(pts)}")
    return pts


def _align(x, y, width, above, below, ha, va):
    """(left end of the baseline, baseline y) for a box anchored at (x, y) by ``ha``/``va``."""
    if ha not in HA:
        raise DeriveError(f"ha={ha!r} is not an alignment: write one of {', '.join(HA)}")
    if va not in VA:
        raise DeriveError(f"va={va!r} is not an alignment: write one of {', '.join(VA)}")
    x0 = _number(x, "x") - HA[ha] * width
    y = _number(y, "y")
    base = {"baseline": y, "top": y - above, "bottom": y + below,
            "center": y - (above - below) / 2}[va]
    return x0, base


@dataclass(eq=False, kw_only=True)
class _Glyphs:
    """Characters drawn in ``color``; ``x``, ``y``: the left end of the baseline."""

    text: str
    color: str
    x: float
    y: float
    box: tuple
    gid: object = None


@dataclass(eq=False, kw_only=True)
class Text(_Glyphs):
    """One line of text in one font (fallback fonts for characters it lacks)."""

    font: str
    size: float


@dataclass(eq=False, kw_only=True)
class Math(_Glyphs):
    """A typeset formula (``derive.pdf.boxes.Box``, ``content``) from LaTeX ``source``."""

    source: str
    content: Box = field(default=None, repr=False)


@dataclass(eq=False)
class Path:
    """A polyline (``closed`` False) or a polygon or rectangle, stroked and/or filled."""

    points: list
    closed: bool
    fill: str
    stroke: str
    width: float
    dash: tuple
    box: tuple
    gid: object = None
    rect: bool = False


@dataclass(eq=False)
class Circle:
    cx: float
    cy: float
    r: float
    fill: str
    stroke: str
    width: float
    box: tuple
    gid: object = None


@functools.lru_cache(maxsize=8192)
def _layout(name: str, chars: str, size: float) -> tuple:
    """(((font, dx, chars), ...), width): ``chars`` cut by ``fonts.runs`` into runs set in
    fonts that have their glyphs, each at its offset ``dx`` from the start."""
    out, x = [], 0.0
    for f, t in fonts.runs(name, chars):
        out.append((f, x, t))
        x += fonts.font(f).width(t, size)
    return tuple(out), x


def _runs(pieces) -> list:
    """[(font, size, sy, dx, dy, chars)] from (font, chars, dx, dy, size, sy) pieces, offsets
    from the item's origin; neighbours on one baseline in one font are merged into one run."""
    out, end = [], None
    for name, chars, x, y, size, sy in pieces:
        runs, width = _layout(name, chars, size)
        for f, dx, t in runs:
            last = out[-1] if out else None
            if last and last[:3] == [f, size, sy] and last[4] == y and abs(end - x - dx) < 0.01:
                last[5] += t
            else:
                out.append([f, size, sy, x + dx, y, t])
        end = x + width
    return out


class Page:
    """One page's display list; ``items`` in drawing order."""

    def __init__(self, width: float = A4[0], height: float = A4[1]):
        self.width = _number(width, "page width")
        self.height = _number(height, "page height")
        if self.width <= 0 or self.height <= 0:
            raise DeriveError(f"a page of {width} x {height} points: give a positive size")
        self.items: list = []

    def _add(self, item):
        self.items.append(item)
        return item

    def text(self, x, y, s, size, font="sans", color="#222222", ha="left", va="baseline",
             gid=None) -> Text:
        """One line of ``s`` at ``size`` points, anchored at (x, y) by ``ha`` and ``va``."""
        s = str(s)
        if any(ord(c) < 32 for c in s):
            raise DeriveError(f"text {s[:30]!r} holds a line break or control character: "
                              "draw each line with its own page.text")
        f, size = _font(font), _number(size, "text size", 0.1)
        paint(color, "g")
        width = _layout(font, s, size)[1]
        x0, base = _align(x, y, width, f.ascent * size, f.descent * size, ha, va)
        box = (x0, base - f.descent * size, x0 + width, base + f.ascent * size)
        return self._add(Text(text=s, font=font, size=size, color=color, x=x0, y=base, box=box,
                              gid=gid))

    def box(self, x, y, box, color="#222222", ha="left", va="baseline", gid=None,
            source="") -> Math:
        """Draw a typeset ``Box`` (its glyphs and its rules, filled in ``color``)."""
        if not isinstance(box, Box):
            raise DeriveError(f"page.box draws a derive.pdf.boxes.Box, not {type(box).__name__}")
        paint(color, "g")
        x0, base = _align(x, y, box.width, box.height, box.depth, ha, va)
        for g in box.glyphs:
            _font(g.font)
        return self._add(Math(source=source, text=box.text(), color=color, x=x0, y=base,
                              box=(x0, base - box.depth, x0 + box.width, base + box.height),
                              gid=gid, content=box))

    def _path(self, pts, closed, fill, stroke, width, dash, gid, rect=False):
        paint(fill, "g"), paint(stroke, "G")
        width = _number(width, "line width", 0)
        if dash is not None:
            dash = tuple(_number(d, "dash length") for d in dash)
            if not dash or any(d < 0 for d in dash) or not any(dash):
                raise DeriveError(f"dash {dash!r}: give lengths in points such as (3, 2)")
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        return self._add(Path(pts, closed, fill, stroke, width, dash,
                              (min(xs), min(ys), max(xs), max(ys)), gid, rect))

    def line(self, points, width=0.7, color="#222222", dash=None, gid=None) -> Path:
        """An open polyline through ``points``."""
        return self._path(_points(points, 2, "line"), False, None, color, width, dash, gid)

    def polygon(self, points, fill=None, stroke=None, width=0.7, gid=None) -> Path:
        """A closed polygon (an arrow head), filled and/or stroked."""
        return self._path(_points(points, 3, "polygon"), True, fill, stroke, width, None, gid)

    def rect(self, x, y, w, h, fill=None, stroke=None, width=0.7, gid=None) -> Path:
        """A rectangle with its lower left corner at (x, y)."""
        x, y, w, h = (_number(v, "rectangle") for v in (x, y, w, h))
        pts = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
        return self._path(pts, True, fill, stroke, width, None, gid, rect=True)

    def circle(self, cx, cy, r, fill=None, stroke=None, width=1.0, gid=None) -> Circle:
        """A circle (four Bezier curves), filled and/or stroked."""
        cx, cy, r = _number(cx, "x"), _number(cy, "y"), _number(r, "radius", 0)
        paint(fill, "g"), paint(stroke, "G")
        return self._add(Circle(cx, cy, r, fill, stroke, _number(width, "line width", 0),
                                (cx - r, cy - r, cx + r, cy + r), gid))

    def remove(self, item):
        """Take ``item`` out of the display list."""
        for i, it in enumerate(self.items):
            if it is item:
                del self.items[i]
                return
        raise DeriveError("page.remove: that item is not on this page")


@functools.lru_cache(maxsize=8192)
def _codes(name: str, chars: str) -> tuple:
    """(hex glyph ids, ((glyph id, character), ...)) of ``chars`` in font ``name``."""
    font = fonts.font(name)
    drawn = tuple((font.glyph(ch), ch) for ch in chars)
    return "".join(f"{g:04X}" for g, _ in drawn), drawn


class _Content:
    """One page's content stream, written with only the state changes it needs."""

    def __init__(self, names: dict, chars: dict, done: set):
        self.names, self.chars, self.done = names, chars, done     # shared across the document
        self.used: list = []                        # fonts of this page, first use first
        self.out = ["1 j"]
        self.state = {}

    def set(self, key, op):
        if op is not None and self.state.get(key) != op:
            self.state[key] = op
            self.out.append(op)

    def glyphs(self, ox, oy, runs):
        """Runs [(font, size, sy, dx, dy, chars)] from (ox, oy), each placed by a text matrix."""
        out = self.out
        out.append("BT")
        for f, size, sy, dx, dy, t in runs:
            if f not in self.used:
                self.used.append(f)
                self.names.setdefault(f, f"F{len(self.names) + 1}")
            self.set("font", f"/{self.names[f]} 1 Tf")
            hexes, drawn = _codes(f, t)
            if (f, t) not in self.done:
                self.done.add((f, t))
                seen = self.chars.setdefault(f, {})
                for g, ch in drawn:
                    seen.setdefault(g, ch)
            out.append(f"{num(size)} 0 0 {num(size * sy)} {num(ox + dx)} {num(oy + dy)} Tm "
                       f"<{hexes}> Tj")
        out.append("ET")

    def shape(self, item, path):
        fill, stroke = item.fill is not None, item.stroke is not None
        if not (fill or stroke):
            return
        self.set("fill", paint(item.fill, "g"))
        self.set("stroke", paint(item.stroke, "G"))
        if stroke:
            self.set("width", f"{num(item.width)} w")
            dash = getattr(item, "dash", None)
            self.set("dash", f"[{' '.join(num(d) for d in dash)}] 0 d" if dash else "[] 0 d")
        self.out.append(path + (" B" if fill and stroke else " f" if fill else " S"))

    def draw(self, item):
        if isinstance(item, Text):
            if item.text:
                self.set("fill", paint(item.color, "g"))
                runs = _layout(item.font, item.text, item.size)[0]
                self.glyphs(item.x, item.y, [(f, item.size, 1.0, dx, 0.0, t) for f, dx, t in runs])
        elif isinstance(item, Math):
            self.set("fill", paint(item.color, "g"))
            box = item.content
            if box.glyphs:
                self.glyphs(item.x, item.y, _runs([(g.font, g.char, g.x, g.y, g.size, g.sy)
                                                   for g in box.glyphs]))
            x, y = item.x, item.y
            for r in item.content.rules:
                self.out.append(f"{num(x + r.x)} {num(y + r.y)} {num(r.w)} {num(r.h)} re f")
        elif isinstance(item, Circle):
            self.shape(item, circle(item.cx, item.cy, item.r))
        elif item.rect:
            (x0, y0), _, (x1, y1), _ = item.points
            self.shape(item, f"{num(x0)} {num(y0)} {num(x1 - x0)} {num(y1 - y0)} re")
        else:
            (x, y), rest = item.points[0], item.points[1:]
            path = f"{num(x)} {num(y)} m " + " ".join(f"{num(a)} {num(b)} l" for a, b in rest)
            self.shape(item, path + (" h" if item.closed else ""))

    def bytes(self) -> bytes:
        return ("\n".join(self.out) + "\n").encode()


class Document:
    """Pages in order; ``to_bytes`` writes the PDF."""

    def __init__(self, title: str = "derive derivation sheet"):
        self.title = str(title)
        self.pages: list = []

    def page(self, width: float = A4[0], height: float = A4[1]) -> Page:
        """A new page at the end (A4 portrait by default; swap the sizes for landscape)."""
        p = Page(width, height)
        self.pages.append(p)
        return p

    def to_bytes(self) -> bytes:
        names, chars, done, contents = {}, {}, set(), []
        for p in self.pages:
            c = _Content(names, chars, done)
            for item in p.items:
                c.draw(item)
            contents.append(c)
        w = Writer()
        root, tree, info = w.reserve(), w.reserve(), w.reserve()
        font_refs = {f: w.reserve() for f in names}
        kids = []
        for p, c in zip(self.pages, contents):
            body = w.add(stream("", c.bytes()))
            res = " ".join(f"/{names[f]} {font_refs[f]} 0 R" for f in c.used)
            kids.append(w.add(f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 {num(p.width)} "
                              f"{num(p.height)}] /Resources << /Font << {res} >> >> "
                              f"/Contents {body} 0 R >>"))
        for f, ref in font_refs.items():
            font_objects(w, ref, f, chars[f])
        w.put(root, f"<< /Type /Catalog /Pages {tree} 0 R >>")
        w.put(tree, f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] "
                    f"/Count {len(kids)} >>")
        w.put(info, f"<< /Title {text_string(self.title)} /Creator (derive) /Producer (derive) >>")
        return w.bytes(root, info)
