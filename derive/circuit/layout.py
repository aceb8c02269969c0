"""Circuit layout: a program's gates in columns (longest-path layers) and rows (few crossings).

Inputs sit one column before their first use; a wire that crosses columns bends once per
column (a ``via`` node), so wires never run through gates. Rows come from barycentre sweeps
and neighbour swaps that remove crossings; busy gaps (many slanted wires) get wider. Each
wire carries its value and its share of the gradient (from the backward pass's steps).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from derive.core.errors import DeriveError
from derive.printing.printers import code
from derive.core.rules import ARRAY_RULES, RULES, derived

DX, DY = 1.55, 1.05          # column gap and row gap (inches at scale 1)


def _const(c) -> str:
    f = float(c)
    return str(int(f)) if f.is_integer() else f"{f:g}"


def gate_label(line) -> str:
    """The label of a gate: the rule's label with constant arguments folded in (``+1``, ``1/x``)."""
    op, args = line.op, line.args
    lab = RULES[op].label
    consts = [a.is_Number for a in args]
    if len(args) != 2 or not any(consts):
        return lab
    if op == "pow":
        return f"**{_const(args[1])}" if consts[1] else f"{_const(args[0])}**x"
    if op == "div":
        return f"{_const(args[0])}/x" if consts[0] else f"/{_const(args[1])}"
    if op == "sub":
        return f"{_const(args[0])}-x" if consts[0] else f"-{_const(args[1])}"
    c = args[0] if consts[0] else args[1]
    if op in ("add", "mul"):
        return f"{lab}{_const(c)}"
    return f"{lab}({_const(c)})"


@dataclass
class Node:
    name: str
    label: str
    kind: str                      # "input", "gate", "output" or "via" (a wire's bend)
    layer: int = 0
    y: float = 0.0
    x: float = 0.0
    value: float | None = None
    grad: float | None = None      # total gradient (for inputs: shown under a fork)


@dataclass
class Edge:
    src: str
    dst: str
    value: float | None = None
    grad: float | None = None      # this wire's share of the gradient
    slot: int = 0                  # which argument of the gate
    nslots: int = 1
    via: list = field(default_factory=list)  # bend points (one per column crossed)


@dataclass
class Layout:
    """Nodes by name (with columns and rows) and edges (with their numbers)."""

    nodes: dict = field(default_factory=dict)
    edges: list = field(default_factory=list)


def edge_gradients(prog, result):
    """{(var name, forward line number): [share of the gradient per use]} from the run's steps."""
    running, shares = {}, {}
    for bl, step in zip(prog.backward, result.steps):
        key = bl.target.name
        prev = running.get(key, 0.0)
        share = step - prev if bl.accumulate else step
        running[key] = step
        shares.setdefault((bl.var.name, bl.ref), []).append(share)
    return shares


def input_values(prog, point) -> dict:
    """{input symbol name: value}, list inputs flattened (``w[0]``)."""
    out = {}
    for name, size in prog.params:
        v = point.get(name)
        if size is None:
            out[name] = v
        elif v is not None:
            for i in range(size):
                out[f"{name}[{i}]"] = v[i]
    return out


def build(prog, result=None) -> Layout:
    """Lay out a program's graph: layers by longest path, rows by barycentres."""
    c = Layout()
    lines = [ln for ln in prog.forward if ln.used]
    if len(lines) > 200:
        raise DeriveError(f"the circuit has {len(lines)} gates; diagrams stay readable up to "
                          "about 30 (try --gates grouped or a smaller function)")
    vals = dict(result.values) if result else {}
    vals.update(input_values(prog, result.point) if result else {})
    adj = result.adjoints if result else {}
    shares = edge_gradients(prog, result) if result else {}
    layer = {}
    for s in prog.inputs:
        if any(s in ln.args for ln in lines):
            c.nodes[s.name] = Node(s.name, s.name, "input", value=vals.get(s.name),
                                   grad=adj.get(prog.adjoints[s].name))
            layer[s.name] = 0
    for ln in lines:
        name = ln.target.name
        srcs = [a.name for a in ln.args if a.is_Symbol]      # constants (even exp(1000)) fold in
        layer[name] = 1 + max([layer[s] for s in srcs], default=0)
        c.nodes[name] = Node(name, gate_label(ln), "gate", value=vals.get(name),
                             grad=adj.get(prog.adjoints[ln.target].name))
        used = {}
        for k, a in enumerate(srcs):
            share = shares.get((a, ln.number), [])
            j = used.get(a, 0)
            used[a] = j + 1
            c.edges.append(Edge(a, name, vals.get(a), share[j] if j < len(share) else None,
                                k, len(srcs)))
    out = prog.output.name
    c.nodes["<out>"] = Node("<out>", out, "output", value=vals.get(out))
    layer["<out>"] = layer[out] + 1
    c.edges.append(Edge(out, "<out>", vals.get(out), 1.0 if result else None))
    return place(c, layer)


ARRAY_LABELS = derived(lambda: {r.name: r.label or r.name for r in ARRAY_RULES.values()})


def build_arrays(prog) -> Layout:
    """The same layout for an array program (shapes known): each wire labelled with the shape
    of its value (green) and of its gradient (red): dimension analysis at a glance."""
    c, layer = Layout(), {}
    lines = [ln for ln in prog.forward if ln.used]
    shapes = dict(prog.shapes or {})
    shapes.update({ln.target.name: ln.shape for ln in prog.forward})

    def text(name):
        sh = shapes.get(name)
        return None if sh is None else ("()" if sh == () else str(tuple(sh)))

    for p in prog.param_names:
        if any(p in [a.name for a in ln.args if a.is_Symbol] for ln in lines):
            c.nodes[p] = Node(p, p, "input")
            layer[p] = 0
    for ln in lines:
        target = ln.target.name
        srcs = [a.name for a in ln.args if a.is_Symbol and a.name in layer]
        consts = [code(a) for a in ln.args if not a.is_Symbol]
        label = ARRAY_LABELS.get(ln.op, RULES[ln.op].label if ln.op in RULES else ln.op)
        if consts and len(ln.args) == 2:
            label = f"**{consts[0]}" if ln.op == "pow" else f"{label}{consts[0]}"
        layer[target] = 1 + max([layer[s] for s in srcs], default=0)
        c.nodes[target] = Node(target, label, "gate")
        for k, a in enumerate(srcs):
            c.edges.append(Edge(a, target, text(a), text(a), k, len(srcs)))
    out = prog.output.name
    c.nodes["<out>"] = Node("<out>", out, "output")
    layer["<out>"] = layer[out] + 1
    c.edges.append(Edge(out, "<out>", text(out), text(out)))
    return place(c, layer)


def place(c: Layout, layer: dict) -> Layout:
    """Columns (inputs just before their first use, bends for long wires), rows, x positions."""
    for n in c.nodes.values():  # inputs move right to one column before their first use
        if n.kind == "input":
            n.layer = min(layer[e.dst] for e in c.edges if e.src == n.name) - 1
        else:
            n.layer = layer[n.name]
    for k, e in enumerate(c.edges):  # a wire crossing columns bends at one point per column
        for col in range(c.nodes[e.src].layer + 1, c.nodes[e.dst].layer):
            v = f"<via{k}:{col}>"
            c.nodes[v] = Node(v, "", "via", layer=col)
            e.via.append(v)
    _rows(c)
    wires = {}
    for e in c.edges:  # busy gaps (many slanted wires, as where inputs fan out) get wider
        chain = [c.nodes[v] for v in [e.src] + e.via + [e.dst]]
        for a, b in zip(chain, chain[1:]):
            if abs(a.y - b.y) > DY / 3:
                wires[a.layer] = wires.get(a.layer, 0) + 1
    xs, x = {}, 0.0
    for k in range(max(n.layer for n in c.nodes.values()) + 1):
        xs[k] = x
        x += DX * min(2.0, max(1.0, 0.45 + wires.get(k, 0) / 6))
    for n in c.nodes.values():
        n.x = xs[n.layer]
    return c


def _rows(c: Layout):
    """Order each column to avoid crossings (barycentres, then swaps), then place the rows."""
    cols = {}
    for n in c.nodes.values():
        cols.setdefault(n.layer, []).append(n)
    preds, succs = {}, {}
    for e in c.edges:
        chain = [e.src] + e.via + [e.dst]
        for a, b in zip(chain, chain[1:]):
            preds.setdefault(b, []).append(a)
            succs.setdefault(a, []).append(b)
    order = sorted(cols)
    rank = {n.name: i for col in cols.values() for i, n in enumerate(col)}

    def crossings():
        """Crossings between columns; two wires fanning out of inputs count half (they cross
        next to the inputs, away from the gates where the lesson is read)."""
        total = 0.0
        for k in order[:-1]:
            segs = [(rank[n.name], rank[m], n.kind == "input") for n in cols[k]
                    for m in succs.get(n.name, [])]
            total += sum(0.5 if i1 and i2 else 1.0 for i, (a1, b1, i1) in enumerate(segs)
                         for a2, b2, i2 in segs[i + 1:] if (a1 - a2) * (b1 - b2) < 0)
        return total

    best = (crossings(), {k: list(v) for k, v in cols.items()})
    for sweep in range(8):
        seq = order if sweep % 2 == 0 else order[::-1]
        nbrs = preds if sweep % 2 == 0 else succs
        for k in seq:
            col = cols[k]
            want = {n.name: (sum(rank[m] for m in nbrs[n.name]) / len(nbrs[n.name])
                             if nbrs.get(n.name) else rank[n.name]) for n in col}
            col.sort(key=lambda n: want[n.name])
            rank.update({n.name: i for i, n in enumerate(col)})
        _transpose(cols, order, rank, crossings)
        now = crossings()
        if now < best[0]:
            best = (now, {k: list(v) for k, v in cols.items()})
    cols = best[1]
    for col in cols.values():
        for i, n in enumerate(col):
            n.y = -(i - (len(col) - 1) / 2) * DY
    for sweep in range(8):  # positions: each node near the mean of its neighbours, order kept
        for k in order if sweep % 2 == 0 else order[::-1]:
            want = {}
            for n in cols[k]:
                ys = [c.nodes[m].y for m in preds.get(n.name, []) + succs.get(n.name, [])]
                want[n.name] = sum(ys) / len(ys) if ys else n.y
            _pack(cols[k], want)
    top = max(n.y for n in c.nodes.values())
    for col in cols.values():  # snap to a grid of half rows, keeping nodes DY apart
        prev = None
        for n in col:
            n.y = round((n.y - top) / (DY / 2)) * (DY / 2)
            if prev is not None and n.y > prev - DY + 1e-9:
                n.y = prev - DY
            prev = n.y


def _transpose(cols, order, rank, crossings):
    """Swap neighbours in a column while that removes crossings."""
    if sum(len(v) for v in cols.values()) > 150:
        return
    improved, rounds = True, 0
    while improved and rounds < 4:
        improved, rounds = False, rounds + 1
        for k in order:
            col = cols[k]
            for i in range(len(col) - 1):
                before = crossings()
                col[i], col[i + 1] = col[i + 1], col[i]
                rank[col[i].name], rank[col[i + 1].name] = i, i + 1
                if crossings() < before:
                    improved = True
                else:
                    col[i], col[i + 1] = col[i + 1], col[i]
                    rank[col[i].name], rank[col[i + 1].name] = i, i + 1


def _pack(col, want):
    """Place a column's nodes (in order, top to bottom) near their wanted rows, DY apart."""
    ys = [want[n.name] for n in col]
    for i in range(1, len(ys)):
        ys[i] = min(ys[i], ys[i - 1] - DY)
    shift = (sum(want[n.name] for n in col) - sum(ys)) / len(ys)
    for n, y in zip(col, ys):
        n.y = y + shift
