"""Circuits of rolled loops: a short loop drawn unrolled with a caption, a long one as a loop box.

A loop of at most ``DRAW_TRIPS`` steps is drawn as the circuit of the program staged unrolled
(``derive.staging.restage``), one copy of the body per step, with a caption saying so. A longer
loop is drawn once: the body's gates inside a box labelled ``for t in range(T)``, the values
entering from outside wired into it from the left, and each carried value (``next_h`` leaving
a step, ``prev_h`` entering the next) going back round above the box. The numbers differ at every
step, so the box's wires carry none (the listing and ``run`` give them).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from derive.circuit.draw import GREY, INK, RADIUS, Circuit, circuit as draw_circuit
from derive.circuit.labels import MONO, SANS, text_size
from derive.circuit.layout import ARRAY_LABELS, DX, Edge, Layout, Node, _rows, gate_label
from derive.staging.restage import DRAW_TRIPS, describe, trips

CAPTION = 9.0        # points (at scale 1)
ROOM = 0.55          # data units above the box for the carried wires, and below it for its label


@dataclass
class LoopCircuit(Circuit):
    """A circuit with loop boxes ``(left, right, top, bottom, label)``, wires going back round
    ``(from node, to node, box)`` above everything, and a caption under it."""

    boxes: list = field(default_factory=list)
    back: list = field(default_factory=list)
    caption: str = ""

    def _levels(self, scale=1.0):
        """The height of each wire going back round (data units), and the top of a box's label."""
        ys = [n.y for n in self.nodes.values()]
        label_h = text_size("for", CAPTION * scale, MONO)[1] / 72 / scale
        base = max([max(ys) + RADIUS + 0.25] + [top + label_h + 0.12 for _, _, top, _, _ in self.boxes])
        return [base + 0.16 * j for j in range(len(self.back))], label_h

    def size(self, scale=1.0):
        w, h = super().size(scale)
        levels, _ = self._levels(scale)
        ys = [n.y for n in self.nodes.values()]
        extra = max(levels + [max(ys)]) - max(ys) + ROOM * bool(self.boxes) + 0.35 * bool(self.caption)
        return w, h + extra * scale

    adjustable = "box"

    def _around(self, pen, scale, xlim, ylim):
        """The loop boxes, the wires going back round and the caption; the limits holding them."""
        (x0, x1), (y0, y1) = xlim, ylim
        levels, label_h = self._levels(scale)
        for k, (left, right, top, bottom, label) in enumerate(self.boxes):
            pen.rect(left, bottom, right - left, top - bottom, 1.0 * scale, GREY, dashed=True, gid=f"box:{k}")
            pen.text(left + 0.05, top + 0.04, label, CAPTION * scale, "left", "bottom", GREY, MONO, f"loop:{k}")
        for j, ((src, dst, _), up) in enumerate(zip(self.back, levels)):
            a, b = self.nodes[src], self.nodes[dst]       # leaving a step, entering the next
            turn, down = a.x + 0.5 + 0.1 * j, b.x - 0.5 - 0.1 * j
            gid = f"wire:back{j}:{src}:{dst}"
            pen.line([(a.x + RADIUS, a.y), (turn, a.y), (turn, up), (down, up), (down, b.y),
                      (b.x - RADIUS - 0.12, b.y)], 1.0 * scale, INK, gid=gid)
            pen.arrow((b.x - RADIUS - 0.12, b.y), (b.x - RADIUS, b.y), 1.0 * scale, 9 * scale, INK, gid=gid)
            y1 = max(y1, up + 0.2)
            x0 = min(x0, down - 0.2)
        if self.boxes:
            y0 = min([y0] + [bottom - 0.2 for _, _, _, bottom, _ in self.boxes])
        if self.caption:
            pen.text(x0 + 0.1, y0 - 0.05, self.caption, CAPTION * scale, "left", "top", GREY, SANS, "caption")
            y0 -= label_h + 0.2
        return (x0, x1), (y0, y1)


def circuit(prog, exact: bool = True, **values) -> LoopCircuit:
    """The circuit of a program with rolled loops: unrolled if short, else a loop box."""
    n = trips(prog)
    if n <= DRAW_TRIPS and getattr(prog._base, "restage", None) is not None:
        flat = prog.unrolled("the circuit", DRAW_TRIPS)
        c = draw_circuit(flat, **values) if prog.arrays else \
            draw_circuit(flat, flat.run(exact=exact, **values) if values else None)
        return LoopCircuit(c.nodes, c.edges, caption=f"{describe(prog)}, drawn unrolled: one copy of "
                                                     f"its body per step")
    return loop_box(prog)


def loop_box(prog) -> LoopCircuit:
    """The body of each rolled loop drawn once, in a box, its carried values going back round."""
    c, layer = Layout(), {}
    lines = [ln for ln in prog.forward if ln.used]
    body = {ln.target.name: k for k, lp in enumerate(prog.loops) for ln in prog.forward[lp.first - 1:lp.last]}
    names = {s.name for s in prog.inputs} | set(prog.param_names)
    floor, before = 1, None      # a loop's gates sit right of all before it, and all after it right of them
    for ln in lines:
        name = ln.target.name
        if body.get(name) != before:
            floor = max([floor - 1] + list(layer.values())) + 1
            before = body.get(name)
        srcs = [a.name for a in ln.args if a.is_Symbol and (a.name in layer or a.name in names)]
        for s in srcs:
            c.nodes.setdefault(s, Node(s, s, "input"))
        layer[name] = max([floor] + [layer.get(s, 0) + 1 for s in srcs])
        c.nodes[name] = Node(name, ARRAY_LABELS.get(ln.op, ln.op) if prog.arrays else gate_label(ln), "gate")
        c.edges += [Edge(s, name, None, None, k, len(srcs)) for k, s in enumerate(srcs)]  # no numbers
    out = prog.output.name
    c.nodes["<out>"] = Node("<out>", out, "output")
    layer["<out>"] = layer[out] + 1
    c.edges.append(Edge(out, "<out>"))
    _place(c, layer, body)
    boxes, back = [], []
    for k, lp in enumerate(prog.loops):
        inside = [c.nodes[n] for n, owner in body.items() if owner == k and n in c.nodes]
        if not inside:
            continue
        ys = [n.y for n in inside]
        boxes.append((min(n.x for n in inside) - 0.55, max(n.x for n in inside) + 0.55,
                      max(ys) + 0.45, min(ys) - 0.6, lp.header()[:-1]))  # gate names fit above the bottom
        back += [(b.name, a.name, len(boxes) - 1) for a, b in lp.carried if a.name in c.nodes and b.name in c.nodes]
    return LoopCircuit(c.nodes, c.edges, boxes=boxes, back=back,
                       caption=f"{describe(prog)}: the body drawn once, each carried value going back round")


def _place(c, layer, body):
    """Columns (inputs one column before their first use, left of a loop box they enter),
    bends for wires crossing columns, rows without crossings, x positions."""
    start = {}
    for name, k in body.items():
        if name in layer:
            start[k] = min(start.get(k, layer[name]), layer[name])
    for n in c.nodes.values():
        if n.kind == "input":
            n.layer = min(min(layer[e.dst], start.get(body.get(e.dst), layer[e.dst])) - 1
                          for e in c.edges if e.src == n.name)
        else:
            n.layer = layer[n.name]
    for k, e in enumerate(c.edges):
        for col in range(c.nodes[e.src].layer + 1, c.nodes[e.dst].layer):
            v = f"<via{k}:{col}>"
            c.nodes[v] = Node(v, "", "via", layer=col)
            e.via.append(v)
    _rows(c)
    for n in c.nodes.values():
        n.x = n.layer * DX
