"""Circuit diagrams: a staged program drawn left to right as in the CS231n notes (pure matplotlib).

Gates are labelled nodes (labels from the rule table, constants folded in: ``+1``, ``**2``,
``1/x``), each wire carries its forward value in green above it and the gradient flowing back
along it in red below it. Inputs sit at their natural depth (one column before their first
use, longest-path layering), not all stacked in the first column. Output is deterministic
(same program and point, same bytes) in PNG, SVG and PDF; ``to_dot()`` gives Graphviz text.
"""
from __future__ import annotations

import io
import logging
import math
import os
from dataclasses import dataclass, field

from derive.circuit_layout import DX, DY, Edge, Node, edge_gradients, gate_label, input_values  # noqa: F401
from derive.circuit_layout import build as _layout
from derive.errors import DeriveError


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
FORMATS = ("png", "svg", "pdf")
#: What makes matplotlib's output byte-for-byte reproducible.
RC = {"svg.hashsalt": "derive", "pdf.fonttype": 42, "ps.fonttype": 42,
      "mathtext.fontset": "dejavusans", "font.family": "DejaVu Sans", "path.simplify": True}
METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None},
            "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None}}


def quiet_fonts():
    """fontTools logs a warning about old font timestamps while embedding: not the user's concern."""
    logging.getLogger("fontTools").setLevel(logging.ERROR)


def short(v) -> str:
    """A number as a wire label: three significant digits, like the notes' 0.73 and -0.20."""
    if v is None:
        return ""
    if isinstance(v, str):                     # a shape, for array programs
        return v
    v = float(v)
    if v == 0:
        return "0.00"
    if not math.isfinite(v):
        return str(v)
    text = f"{v:#.3g}"
    return text.rstrip(".") if "e" not in text else f"{v:.2e}"


@dataclass
class Circuit:
    """A laid-out circuit: nodes with columns and rows, edges with their numbers."""

    nodes: dict = field(default_factory=dict)
    edges: list = field(default_factory=list)
    title: str = ""

    # ---- output --------------------------------------------------------------------------
    def figure(self, scale: float = 1.0, numbers: bool = True):
        """A matplotlib Figure of the circuit (not attached to pyplot)."""
        from matplotlib.figure import Figure

        w, h = self.size(scale)
        fig = Figure(figsize=(w, h))
        ax = fig.add_axes((0, 0, 1, 1))
        self.draw(ax, scale, numbers)
        return fig

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
                lab = (f' [label=<<font color="{GREEN}">{short(e.value)}</font><br/>'
                       f'<font color="{RED}">{short(e.grad)}</font>>]')
            out.append(f'  "{e.src}" -> "{e.dst}"{lab};')
        out.append("}")
        return "\n".join(out) + "\n"

    # ---- drawing -------------------------------------------------------------------------
    def draw(self, ax, scale: float = 1.0, numbers=True, geom: float | None = None):
        """Draw on a matplotlib Axes. ``numbers``: True, False, or "blanks" (a worksheet: the
        inputs' values and the output's gradient given, blanks on every other wire).
        ``scale`` sizes fonts and lines (points), ``geom`` is the inches per data unit of the
        axes (default ``scale``), used to keep labels apart."""
        from matplotlib.patches import Circle

        fs = 9.5 * scale
        em = fs * 0.86 / 72 / (geom or scale)          # a label's font size in data units
        pos = {k: (n.x, n.y) for k, n in self.nodes.items()}
        wires, arrive = [], {}
        for e in self.edges:  # into a binary gate, the higher wire takes the upper point
            last = e.via[-1] if e.via else e.src
            arrive.setdefault(e.dst, []).append((-pos[last][1], e.slot, id(e)))
        slot = {k: i for v in arrive.values() for i, (_, _, k) in enumerate(sorted(v))}
        for e in self.edges:
            src, dst = self.nodes[e.src], self.nodes[e.dst]
            pts = [pos[e.src]] + [pos[v] for v in e.via]
            if src.kind == "gate":
                pts[0] = (pts[0][0] + RADIUS, pts[0][1])
            if len(pts) > 1:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], color=INK, lw=1.0 * scale,
                        solid_joinstyle="round")
            (x0, y0), (x1, y1) = pts[-1], pos[e.dst]
            if dst.kind == "gate":
                # binary gates: the wires arrive at two points on the left of the circle
                off = 0.0 if e.nslots == 1 else (0.5 - slot[id(e)]) * 0.9 * RADIUS
                x1 -= math.sqrt(RADIUS ** 2 - off ** 2)
                y1 += off
            else:
                x1 -= 0.05
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                        arrowprops=dict(arrowstyle="-|>", color=INK, lw=1.0 * scale,
                                        mutation_scale=9 * scale, shrinkA=0, shrinkB=0))
            wires.append((e, pts + [(x1, y1)]))
        if numbers:
            kw = dict(ha="center", fontsize=fs * 0.86, family="DejaVu Sans Mono")
            blank = "_____"
            for e, (lx, ly) in _place_labels(wires, self.nodes, pos, em):
                given = self.nodes[e.src].kind == "input"     # a worksheet gives the inputs
                value = blank if numbers == "blanks" and not given else short(e.value)
                out = self.nodes[e.dst].kind == "output"      # ... and the output's 1.00
                grad = blank if numbers == "blanks" and not out else short(e.grad)
                ax.text(lx, ly + 0.06, value, va="bottom", color=GREEN, **kw)
                ax.text(lx, ly - 0.06, grad, va="top", color=RED, **kw)
        for n in self.nodes.values():
            x, y = pos[n.name]
            if n.kind == "gate":
                ax.add_patch(Circle((x, y), RADIUS, facecolor="#fdfdf6", edgecolor=INK,
                                    lw=1.2 * scale, zorder=3))
                size = fs * (1.15 if len(n.label) <= 2 else 0.95 if len(n.label) <= 4 else 0.75)
                ax.text(x, y, n.label, ha="center", va="center", fontsize=size, zorder=4,
                        color=INK)
                ax.text(x, y - RADIUS - 0.05, n.name, ha="center", va="top", color=GREY,
                        fontsize=fs * 0.75, style="italic", zorder=4)
            elif n.kind == "input":
                ax.text(x - 0.04, y, n.label, ha="right", va="center", fontsize=fs * 1.05,
                        color=INK, family="DejaVu Sans Mono")
                if numbers is True and n.grad is not None \
                        and sum(e.src == n.name for e in self.edges) > 1:
                    ax.text(x - 0.04, y - 0.22, short(n.grad), ha="right", va="top",
                            fontsize=fs * 0.8, color=RED, family="DejaVu Sans Mono")
            elif n.kind == "output":
                ax.text(x + 0.04, y, n.label, ha="left", va="center", fontsize=fs * 1.05,
                        color=INK, family="DejaVu Sans Mono")
        ys = [n.y for n in self.nodes.values()]
        ax.set_xlim(-0.8, max(n.x for n in self.nodes.values()) + 0.8)
        ax.set_ylim(min(ys) - 0.65, max(ys) + 0.6)
        ax.set_aspect("equal", adjustable="datalim")
        ax.axis("off")
        return ax


def _overlap(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _clipped(seg, box) -> float:
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


def _place_labels(wires, nodes, pos, em):
    """Put each wire's pair of numbers where it overlaps least with gates and earlier labels."""
    taken = []
    for n in nodes.values():
        x, y = pos[n.name]
        if n.kind == "gate":
            taken.append((x - RADIUS, y - RADIUS - 1.1 * em, x + RADIUS, y + RADIUS))
        elif n.kind in ("input", "output"):
            w = (len(n.label) + 1) * 0.7 * em
            taken.append((x - w, y - 0.9 * em, x, y + 0.9 * em) if n.kind == "input" else
                         (x, y - 0.9 * em, x + w, y + 0.9 * em))
    placed = []
    for e, pts in wires:
        if e.value is None:
            continue
        half_w = max(len(short(e.value)), len(short(e.grad))) * 0.62 * em / 2 + 0.05
        half_h = 0.06 + 0.85 * em + 0.04
        others = [seg for f, q in wires if f is not e for seg in zip(q, q[1:])]
        best = None
        for k, ((x0, y0), (x1, y1)) in enumerate(zip(pts, pts[1:])):
            last = k == len(pts) - 2
            for t in (0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78):
                lx, ly = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
                box = (lx - half_w, ly - half_h, lx + half_w, ly + half_h)
                cost = 10 * sum(_overlap(box, o) for o in taken) + 0.002 * abs(t - 0.5) \
                    + (0 if last else 0.001) + 0.03 * sum(_clipped(sg, box) for sg in others)
                if best is None or cost < best[0] - 1e-12:
                    best = (cost, (lx, ly), box)
        taken.append(best[2])
        placed.append((e, best[1]))
    return placed


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def build(prog, result=None) -> Circuit:
    """The laid-out circuit of a program, with the numbers of ``result`` when given; an array
    program's wires carry shapes (its shapes must be known: ``prog.with_shapes(...)``)."""
    if hasattr(prog, "param_names"):
        from derive.circuit_layout import build_arrays

        lay = build_arrays(prog)
    else:
        lay = _layout(prog, result)
    return Circuit(lay.nodes, lay.edges)


def circuit(prog, result=None, **values) -> Circuit:
    """``circuit(prog, x=3, y=-4)``: the laid-out circuit with correctly rounded numbers."""
    if hasattr(prog, "param_names"):           # arrays: the shapes of the values given
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
