"""Circuit diagrams: a staged program drawn left to right as in the CS231n notes, through a pen.

Gates are labelled nodes (labels from the rule table, constants folded in: ``+1``, ``**2``,
``1/x``), each wire carries its forward value in green above it and the gradient flowing back
along it in red below it. Inputs sit at their natural depth (one column before their first
use, longest-path layering), not all stacked in the first column. ``draw`` speaks to a pen
(``derive.circuit.pens``): matplotlib for notebooks and files, a PDF page for sheets, one
layout for both. Output is deterministic
(same program and point, same bytes) in PNG, SVG (matplotlib) and PDF (``derive.pdf``, no
matplotlib); ``to_dot()`` gives Graphviz text.
"""
from __future__ import annotations

import io
import logging
import math
import os
from dataclasses import dataclass, field

from derive.circuit.layout import DX, DY, Edge, Node, edge_gradients, gate_label, input_values  # noqa: F401
from derive.circuit.layout import build as _layout
from derive.core.errors import DeriveError
from derive.circuit.labels import ITALIC, MONO, SANS, fit_gate_label, place, text_size
from derive.circuit.pens import MplPen, Pen, Recording, to_page


def write_bytes(path: str, data: bytes) -> str:
    """Write an output file, or a one-line DeriveError saying what to do."""
    try:
        with open(path, "wb") as fh:
            fh.write(data)
    except OSError as err:
        raise DeriveError(f"cannot write {path}: {err.strerror}; choose a writable path") from None
    return path

GREEN, RED, INK, GREY = "#1a7f37", "#c62828", "#222222", "#6b6b6b"
RADIUS = 0.30                               # gate radius (inches at scale 1)
SPREADS = 4                                 # times a crowded layout is spread out and redrawn
FORMATS = ("png", "svg", "pdf")
#: What makes matplotlib's output byte-for-byte reproducible.
RC = {"svg.hashsalt": "derive", "pdf.fonttype": 42, "ps.fonttype": 42,
      "mathtext.fontset": "dejavusans", "font.family": "DejaVu Sans", "path.simplify": True}
METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None},
            "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None}}


def quiet_fonts():
    """fontTools logs a warning about old font timestamps while embedding: not the user's concern."""
    logging.getLogger("fontTools").setLevel(logging.ERROR)


def short(v, digits: int = 3) -> str:
    """A number as a wire label: three significant digits, like the notes' 0.73 and -0.20."""
    if v is None:
        return ""
    if isinstance(v, str):                     # a shape, for array programs
        return v
    v = float(v)
    if v == 0:
        return "0.00" if digits == 3 else "0"
    if not math.isfinite(v):
        return str(v)
    if digits != 3:                            # a sheet's numbers, as its tables print them
        from derive.sheets.tex import fmt

        return fmt(v, digits)
    text = f"{v:#.3g}"
    return text.rstrip(".") if "e" not in text else f"{v:.2e}"


@dataclass
class Circuit:
    """A laid-out circuit: nodes with columns and rows, edges with their numbers."""

    nodes: dict = field(default_factory=dict)
    edges: list = field(default_factory=list)
    title: str = ""
    digits: int = 3                 # significant figures on the wires (sheets: --digits)

    def short(self, v) -> str:
        return short(v, self.digits)

    # ---- output --------------------------------------------------------------------------
    def figure(self, scale: float = 1.0, numbers: bool = True):
        """A matplotlib Figure of the circuit (not attached to pyplot)."""
        from matplotlib.figure import Figure

        for _ in range(SPREADS + 1):
            w, h = self.size(scale)
            fig = Figure(figsize=(w, h))
            ax = fig.add_axes((0, 0, 1, 1))
            if not self.draw(MplPen(ax), scale, numbers):
                break
            self.spread()
        return fig

    def record(self, scale: float = 1.0, numbers=True):
        """The circuit's marks (``derive.circuit.pens.Recording``), spread out like ``figure``
        until its labels are clear; draw it with ``pens.to_page`` (no matplotlib involved)."""
        for _ in range(SPREADS + 1):
            rec = Recording()
            if not self.draw(rec, scale, numbers):
                break
            self.spread()
        return rec

    def page(self, numbers=True):
        """The circuit on a PDF page of its own size (``derive.pdf``: no matplotlib), spread
        like ``figure`` until its labels are clear: a Document of one page."""
        from derive.pdf.document import Document

        rec = self.record(numbers=numbers)
        w, h = (v * 72 for v in self.size())
        doc = Document()
        to_page(rec, doc.page(w, h), 0, 0, w, h)
        return doc

    def spread(self, fx: float = 1.2, fy: float = 1.15):
        """Move the nodes apart (more room for labels that collided)."""
        for n in self.nodes.values():
            n.x *= fx
            n.y *= fy

    def size(self, scale=1.0):
        """Width and height in inches."""
        xs = [n.x for n in self.nodes.values()]
        ys = [n.y for n in self.nodes.values()]
        return (max(xs) + 1.6) * scale, (max(ys) - min(ys) + 1.25) * scale

    def save(self, path: str, numbers: bool = True) -> str:
        """Write PNG, SVG or PDF (chosen by the file's extension); deterministic bytes."""
        fmt = os.path.splitext(path)[1].lstrip(".").lower()
        if fmt not in FORMATS:
            raise DeriveError(f"cannot write '{path}': use a .png, .svg or .pdf file name")
        return write_bytes(path, self.to_bytes(fmt, numbers))

    def to_bytes(self, fmt: str = "png", numbers: bool = True) -> bytes:
        if fmt == "pdf":
            return self.page(numbers).to_bytes()
        import matplotlib

        quiet_fonts()
        with matplotlib.rc_context(RC):
            fig = self.figure(numbers=numbers)
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, dpi=150, metadata=METADATA[fmt])
        return buf.getvalue()

    def _repr_svg_(self):
        return self.to_bytes("svg").decode("utf-8")

    def to_dot(self) -> str:
        """Graphviz source: the same graph, values and gradients as edge labels."""
        out = ["digraph circuit {", "  rankdir=LR;", '  node [shape=circle, fontname="Helvetica"];']
        for n in self.nodes.values():
            if n.kind == "gate":
                out.append(f'  "{n.name}" [label="{_esc(n.label)}", xlabel="{_esc(n.name)}"];')
            elif n.kind != "via":
                out.append(f'  "{n.name}" [label="{_esc(n.label)}", shape=plaintext];')
        for e in self.edges:
            lab = ""
            if e.value is not None:
                lab = (f' [label=<<font color="{GREEN}">{self.short(e.value)}</font><br/>'
                       f'<font color="{RED}">{self.short(e.grad)}</font>>]')
            out.append(f'  "{e.src}" -> "{e.dst}"{lab};')
        out.append("}")
        return "\n".join(out) + "\n"

    # ---- drawing -------------------------------------------------------------------------
    def wire_texts(self, ks, numbers=True) -> tuple:
        """(value, gradient) printed on the wires ``ks`` (wires side by side share them)."""
        blank = "_____"
        e = self.edges[ks[0]]
        given = self.nodes[e.src].kind == "input"     # a worksheet gives the inputs
        value = blank if numbers == "blanks" and not given else self.short(e.value)
        out = self.nodes[e.dst].kind == "output"      # ... and the output's 1.00
        grads = list(dict.fromkeys(self.short(self.edges[k].grad) for k in ks))
        return value, blank if numbers == "blanks" and not out else ", ".join(grads)

    adjustable = "datalim"          # how matplotlib keeps the aspect equal (MplPen.limits)

    def draw(self, ax, scale: float = 1.0, numbers=True, geom: float | None = None) -> int:
        """Draw with a pen (``derive.circuit.pens``), or on a matplotlib Axes. ``numbers``:
        True, False, or "blanks" (a worksheet: the inputs' values and the output's gradient
        given, blanks on every other wire). ``scale`` sizes fonts and lines (points), ``geom``
        is the inches per data unit of the drawing (default ``scale``), used to keep labels
        apart. Returns the number of wire labels that could not be placed clear of everything
        else (0 when nothing collides)."""
        pen = ax if isinstance(ax, Pen) else MplPen(ax)
        bad, xlim, ylim = self._marks(pen, scale, numbers, geom)
        xlim, ylim = self._around(pen, scale, xlim, ylim)
        pen.limits(xlim, ylim, self.adjustable)
        return bad

    def _around(self, pen, scale, xlim, ylim):
        """What a subclass draws around the circuit; returns the limits enlarged to hold it."""
        return xlim, ylim

    def _marks(self, pen, scale, numbers, geom):
        """The circuit's marks; (collisions, xlim, ylim)."""
        fs = 9.5 * scale
        pt = 1 / 72 / (geom or scale)                  # data units per point
        pos = {k: (n.x, n.y) for k, n in self.nodes.items()}
        wires, arrive = [], {}
        for e in self.edges:  # into a binary gate, the higher wire takes the upper point
            last = e.via[-1] if e.via else e.src
            arrive.setdefault(e.dst, []).append((-pos[last][1], e.slot, id(e)))
        slot = {k: i for v in arrive.values() for i, (_, _, k) in enumerate(sorted(v))}
        for k, e in enumerate(self.edges):
            src, dst = self.nodes[e.src], self.nodes[e.dst]
            pts = [pos[e.src]] + [pos[v] for v in e.via]
            if src.kind == "gate":
                pts[0] = (pts[0][0] + RADIUS, pts[0][1])
            if len(pts) > 1:
                pen.line(pts, 1.0 * scale, INK, gid=f"wire:{k}:{e.src}:{e.dst}")
            (x0, y0), (x1, y1) = pts[-1], pos[e.dst]
            if dst.kind == "gate":
                # binary gates: the wires arrive at two points on the left of the circle (a
                # gate taking more, e.g. np.sum of three values: spread over the same arc)
                n = max(e.nslots, len(arrive[e.dst]))
                off = 0.0 if n == 1 else (0.5 - slot[id(e)] / (n - 1)) * 0.9 * RADIUS
                x1 -= math.sqrt(RADIUS ** 2 - off ** 2)
                y1 += off
            else:
                x1 -= 0.05
            pen.arrow((x0, y0), (x1, y1), 1.0 * scale, 9 * scale, INK, gid=f"wire:{k}:{e.src}:{e.dst}")
            wires.append((k, pts + [(x1, y1)]))
        fixed, legend = [], []

        for n in self.nodes.values():
            x, y = pos[n.name]
            if n.kind == "gate":
                pen.circle((x, y), RADIUS, 1.2 * scale, "#fdfdf6", INK, gid=f"circle:{n.name}", z=3)
                label = n.label
                size = fs * (1.15 if len(label) <= 2 else 0.95 if len(label) <= 4 else 0.75)
                room = 2 * RADIUS * 0.78 / pt
                fit = fit_gate_label(label, size, room, 5.0 * scale)
                if fit is None:                          # abbreviated, spelled out in a legend
                    label = f"g{len(legend) + 1}"
                    legend.append(f"{label}: {n.label}")
                    fit = fit_gate_label(label, size, room, 1.0)
                pen.text(x, y, label, fit, "center", "center", INK, SANS, f"gate:{n.name}", z=4)
                nw, nh = text_size(n.name, fs * 0.75, ITALIC)
                top = y - RADIUS - 0.05
                pen.text(x, top, n.name, fs * 0.75, "center", "top", GREY, ITALIC, f"name:{n.name}", z=4)
                fixed.append((x - RADIUS, y - RADIUS, x + RADIUS, y + RADIUS))
                fixed.append((x - nw * pt / 2, top - nh * pt, x + nw * pt / 2, top))
            elif n.kind == "input":
                w, h = text_size(n.label, fs * 1.05, MONO)
                pen.text(x - 0.04, y, n.label, fs * 1.05, "right", "center", INK, MONO, f"input:{n.name}")
                fixed.append((x - 0.04 - w * pt, y - h * pt / 2, x - 0.04, y + h * pt / 2))
                if numbers is True and n.grad is not None \
                        and sum(e.src == n.name for e in self.edges) > 1:
                    g = self.short(n.grad)
                    w, h = text_size(g, fs * 0.8, MONO)
                    top = y - h * pt / 2 - 0.04
                    pen.text(x - 0.04, top, g, fs * 0.8, "right", "top", RED, MONO, f"total:{n.name}")
                    fixed.append((x - 0.04 - w * pt, top - h * pt, x - 0.04, top))
            elif n.kind == "output":
                w, h = text_size(n.label, fs * 1.05, MONO)
                pen.text(x + 0.04, y, n.label, fs * 1.05, "left", "center", INK, MONO, f"output:{n.name}")
                fixed.append((x + 0.04, y - h * pt / 2, x + 0.04 + w * pt, y + h * pt / 2))
        bad = 0
        if numbers:
            def texts(ks):
                return self.wire_texts(ks, numbers)

            groups = {}                   # wires side by side (x*x) share one pair of numbers
            for k, q in wires:
                e = self.edges[k]
                if e.value is not None:
                    groups.setdefault((e.src, e.dst), []).append((k, q))
            lab = fs * 0.86
            spots, bad = place([(tuple(k for k, _ in g), [q for _, q in g])
                                for g in groups.values()], fixed, pt, lab, texts)
            for ks, (lx, up, down) in spots.items():
                value, grad = self.wire_texts(ks, numbers)
                tag = ",".join(map(str, ks))
                pen.text(lx, up, value, lab, "center", "bottom", GREEN, MONO, f"value:{tag}")
                pen.text(lx, down, grad, lab, "center", "top", RED, MONO, f"grad:{tag}")
        ys = [n.y for n in self.nodes.values()]
        if legend:
            pen.text(-0.7, min(ys) - 0.55, "   ".join(legend), fs * 0.8, "left", "top", GREY, SANS, "legend")
        xlim = (-0.8, max(n.x for n in self.nodes.values()) + 0.8)
        ylim = (min(ys) - 0.65 - (0.2 if legend else 0), max(ys) + 0.6)
        return bad, xlim, ylim


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def build(prog, result=None) -> Circuit:
    """The laid-out circuit of a program, with the numbers of ``result`` when given; an array
    program's wires carry shapes (its shapes must be known: ``prog.with_shapes(...)``)."""
    if prog.arrays:
        from derive.circuit.layout import build_arrays

        lay = build_arrays(prog)
    else:
        lay = _layout(prog, result)
    return Circuit(lay.nodes, lay.edges)


def circuit(prog, result=None, **values) -> Circuit:
    """``circuit(prog, x=3, y=-4)``: the laid-out circuit with correctly rounded numbers."""
    if prog.arrays:                            # the shapes of the values given
        if values:
            prog = prog.with_shapes({k: getattr(v, "shape", None) or _shape(v)
                                     for k, v in values.items()})
        return build(prog)
    if result is None and values:
        result = prog.run(exact=True, **values)
    return build(prog, result)


def _shape(v):
    import numpy as np

    return np.shape(v)
