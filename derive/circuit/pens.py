"""Pens: what a circuit is drawn with, in its own data units, on matplotlib or on a PDF page.

``Circuit.draw`` speaks only to a pen: ``line``, ``arrow``, ``circle``, ``rect``, ``text`` and
``limits`` (the data rectangle shown, with equal aspect). Coordinates are data units; line widths,
arrow heads and font sizes are points. Fonts are named as ``derive.pdf.fonts`` names them:
``"sans"``, ``"mono"``, ``"sans-oblique"``.

- ``MplPen(ax)`` draws on a matplotlib Axes (notebooks, ``Circuit.figure``, PNG/SVG files).
- ``Recording()`` keeps the marks as data; ``to_page(recording, page, x, y, w, h)`` draws
  them on a ``derive.pdf.document.Page`` inside that rectangle (points, lower-left corner),
  scaled with equal aspect and centred, as matplotlib's ``set_aspect("equal")`` does. This
  path never imports matplotlib.

Every mark keeps its gid (``wire:k:src:dst``, ``gate:name``, ``value:k`` ...): the geometry
tests find the circuit's parts by them on either surface.
"""
from __future__ import annotations

HEAD_LENGTH, HEAD_WIDTH = 0.4, 0.2          # matplotlib's "-|>" head, times the head size
DASH = (3.7, 1.6)                           # matplotlib's "--" pattern, times the line width
FAMILY = {"sans": {}, "mono": {"family": "DejaVu Sans Mono"}, "sans-oblique": {"style": "italic"}}
Z = {"line": 2, "arrow": 3, "text": 3, "circle": 1, "rect": 1}   # matplotlib's default zorders


class Pen:
    """What ``Circuit.draw`` draws with (see the module docstring); ``z`` orders marks as
    matplotlib's zorder does (None: the default of that kind of mark)."""

    def line(self, points, lw, color, gid=None, z=None):
        """An open polyline through ``points``."""
        raise NotImplementedError

    def arrow(self, tail, head, lw, head_size, color, gid=None, z=None):
        """A wire ending in a filled head at ``head`` (``head_size``: matplotlib's mutation scale)."""
        raise NotImplementedError

    def circle(self, center, r, lw, face, edge, gid=None, z=None):
        raise NotImplementedError

    def rect(self, x, y, w, h, lw, edge, dashed=False, gid=None, z=None):
        """An unfilled rectangle, lower-left corner (x, y)."""
        raise NotImplementedError

    def text(self, x, y, s, size, ha="left", va="baseline", color="#222222", font="sans",
             gid=None, z=None):
        raise NotImplementedError

    def limits(self, xlim, ylim, adjustable="datalim"):
        """The data rectangle shown, equal aspect (``adjustable``: matplotlib's, for Axes)."""
        raise NotImplementedError


class MplPen(Pen):
    """Draws on a matplotlib Axes, as the circuits were always drawn."""

    def __init__(self, ax):
        self.ax = ax

    def line(self, points, lw, color, gid=None, z=None):
        kw = {} if z is None else {"zorder": z}
        self.ax.plot([p[0] for p in points], [p[1] for p in points], color=color, lw=lw,
                     solid_joinstyle="round", gid=gid, **kw)

    def arrow(self, tail, head, lw, head_size, color, gid=None, z=None):
        kw = {} if z is None else {"zorder": z}
        self.ax.annotate("", xy=head, xytext=tail, gid=gid, arrowprops=dict(
            arrowstyle="-|>", color=color, lw=lw, mutation_scale=head_size, shrinkA=0, shrinkB=0), **kw)

    def circle(self, center, r, lw, face, edge, gid=None, z=None):
        from matplotlib.patches import Circle

        self.ax.add_patch(Circle(center, r, facecolor=face, edgecolor=edge, lw=lw,
                                 zorder=Z["circle"] if z is None else z, gid=gid))

    def rect(self, x, y, w, h, lw, edge, dashed=False, gid=None, z=None):
        from matplotlib.patches import Rectangle

        self.ax.add_patch(Rectangle((x, y), w, h, fill=False, lw=lw, edgecolor=edge,
                                    linestyle="--" if dashed else "-",
                                    zorder=Z["rect"] if z is None else z, gid=gid))

    def text(self, x, y, s, size, ha="left", va="baseline", color="#222222", font="sans",
             gid=None, z=None):
        kw = dict(FAMILY[font], **({} if z is None else {"zorder": z}))
        return self.ax.text(x, y, s, ha=ha, va=va, fontsize=size, color=color, gid=gid, **kw)

    def limits(self, xlim, ylim, adjustable="datalim"):
        self.ax.set_xlim(*xlim)
        self.ax.set_ylim(*ylim)
        self.ax.set_aspect("equal", adjustable=adjustable)
        self.ax.axis("off")


class Recording(Pen):
    """The marks as data: ``marks`` [(z, kind, args)] in drawing order, ``xlim``/``ylim``."""

    def __init__(self):
        self.marks, self.xlim, self.ylim, self.adjustable = [], (0.0, 1.0), (0.0, 1.0), "datalim"

    def _add(self, kind, z, **args):
        self.marks.append((Z[kind] if z is None else z, kind, args))

    def line(self, points, lw, color, gid=None, z=None):
        self._add("line", z, points=[tuple(p) for p in points], lw=lw, color=color, gid=gid)

    def arrow(self, tail, head, lw, head_size, color, gid=None, z=None):
        self._add("arrow", z, tail=tail, head=head, lw=lw, head_size=head_size, color=color, gid=gid)

    def circle(self, center, r, lw, face, edge, gid=None, z=None):
        self._add("circle", z, center=center, r=r, lw=lw, face=face, edge=edge, gid=gid)

    def rect(self, x, y, w, h, lw, edge, dashed=False, gid=None, z=None):
        self._add("rect", z, x=x, y=y, w=w, h=h, lw=lw, edge=edge, dashed=dashed, gid=gid)

    def text(self, x, y, s, size, ha="left", va="baseline", color="#222222", font="sans",
             gid=None, z=None):
        self._add("text", z, x=x, y=y, s=s, size=size, ha=ha, va=va, color=color, font=font, gid=gid)

    def limits(self, xlim, ylim, adjustable="datalim"):
        self.xlim, self.ylim, self.adjustable = tuple(xlim), tuple(ylim), adjustable

    def replay(self, pen):
        """Draw the recorded marks with another pen (a recording made once, drawn anywhere)."""
        for z, kind, a in self.marks:                 # each mark keeps its method's argument names
            getattr(pen, kind)(z=z, **a)
        pen.limits(self.xlim, self.ylim, self.adjustable)

    def texts(self) -> list:
        """The texts drawn, in order (what a test or a reader of the recording looks at)."""
        return [a["s"] for _, kind, a in self.marks if kind == "text"]


def transform(rec: Recording, x, y, w, h):
    """The map from data units to page points fitting ``rec``'s limits in the rectangle with
    equal aspect, centred; and the points per data unit."""
    (x0, x1), (y0, y1) = rec.xlim, rec.ylim
    s = min(w / (x1 - x0), h / (y1 - y0))
    cx, cy, mx, my = x + w / 2, y + h / 2, (x0 + x1) / 2, (y0 + y1) / 2

    def at(px, py):
        return cx + (px - mx) * s, cy + (py - my) * s

    return at, s


def to_page(rec: Recording, page, x, y, w, h) -> float:
    """Draw a recording on a derive.pdf Page inside the rectangle (x, y, w, h) in points;
    returns points per unit."""
    at, s = transform(rec, x, y, w, h)
    for _, kind, a in sorted(rec.marks, key=lambda m: m[0]):
        gid = a["gid"]
        if kind == "line":
            page.line([at(*p) for p in a["points"]], width=a["lw"], color=a["color"], gid=gid)
        elif kind == "arrow":
            _arrow(page, at(*a["tail"]), at(*a["head"]), a, gid)
        elif kind == "circle":
            cx, cy = at(*a["center"])
            page.circle(cx, cy, a["r"] * s, fill=a["face"], stroke=a["edge"], width=a["lw"], gid=gid)
        elif kind == "rect":
            (px, py), lw = at(a["x"], a["y"]), a["lw"]
            pts = [(px, py), (px + a["w"] * s, py), (px + a["w"] * s, py + a["h"] * s),
                   (px, py + a["h"] * s), (px, py)]
            page.line(pts, width=lw, color=a["edge"], gid=gid,
                      dash=(DASH[0] * lw, DASH[1] * lw) if a["dashed"] else None)
        else:
            px, py = at(a["x"], a["y"])
            page.text(px, py, a["s"], a["size"], font=a["font"], color=a["color"], ha=a["ha"],
                      va=a["va"], gid=gid)
    return s


def _arrow(page, tail, head, a, gid):
    """A line from the tail to the base of the head, and the head as a filled triangle."""
    (x0, y0), (x1, y1) = tail, head
    length = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5 or 1.0
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    hl, hw = HEAD_LENGTH * a["head_size"], HEAD_WIDTH * a["head_size"]
    bx, by = x1 - ux * hl, y1 - uy * hl
    if length > hl:
        page.line([(x0, y0), (bx, by)], width=a["lw"], color=a["color"], gid=gid)
    page.polygon([(x1, y1), (bx - uy * hw, by + ux * hw), (bx + uy * hw, by - ux * hw)],
                 fill=a["color"], stroke=a["color"], width=a["lw"], gid=gid)
