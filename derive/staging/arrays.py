"""Arrays: stage NumPy functions into forward lines and NumPy backward lines, shape by shape.

``stage_arrays(loss)`` reads the function (``derive.frontend.arrays``), names every value
(``derive.core.naming``) and writes one forward line per gate. The backward pass is generated
from the rule table: elementwise gates use their SymPy local gradient printed with NumPy
names (``dh = (1 - a**2) * da``), array gates the templates of the table's array section
(``dW2 = dr @ a.T``). Shapes, from ``shapes=`` or from the arrays given to ``run``, choose
among templates (``np.outer`` for vectors), add a reduction line where an argument was
broadcast (``db = np.sum(dh, axis=0)``), and are checked line by line by running the printed
code on zeros: a mismatch names the line and both shapes.
"""
from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import sympy as sp

from derive.core import naming
from derive.core.errors import DeriveError
from derive.core.naming import symbol
from derive.core.primitives import onehot, softmax, softmax_cross_entropy  # noqa: F401 (API)
from derive.printing.printers import NumpyPrinter, group
from derive.staging.program import ArrayCall, ArrayProgram, BackLine, Line, Program, Vjp, seed_line  # noqa: F401 (API)
from derive.core.rules import ARRAY_RULES, RULES, local_gradient
from derive.staging import restage, rolled
from derive.staging.loops import Control
from derive.frontend.arrays import numbers_unless_shaped, parse_array_function


_P = NumpyPrinter()


def _variant(node, rule, shapes, names):
    """Which vjp templates of the row this gate uses: by ndims ("2,1") or options ("axis")."""
    table = dict(rule.variants)
    if node.op == "matmul" and shapes is not None:
        key = _matmul_key(node, [shapes[names[a]] for a in node.args], names)
    elif node.opt("axis") is not None:
        key = "keepdims" if node.opt("keepdims") else "axis"
    elif node.opt("advanced"):  # x[np.arange(N), :, y]: the slices need np.s_ in np.add.at
        key = "advanced, slices" if ":" in node.opt("subscript") or "..." in node.opt("subscript") else "advanced"
    else:
        key = ""
    return key if key in table else ""


def _matmul_key(node, shapes, names):
    """The matmul variant of these shapes: "2,1", ...; "n,2" for a stack of matrices (N, T, D)
    times a matrix, "n,n" for two stacks with the same leading axes."""
    a, b = (len(s) for s in shapes)
    if a <= 2 and b <= 2:
        return f"{a},{b}"
    if a > 2 and b <= 2:
        return f"n,{b}"
    if a == b and shapes[0][:-2] == shapes[1][:-2]:
        return "n,n"
    x, y = (names[n] for n in node.args)
    raise DeriveError(f"{x} @ {y} with shapes {tuple(shapes[0])} and {tuple(shapes[1])} (line {node.lineno}): "
                      f"derive multiplies a stack of matrices by a matrix or by a stack of the same "
                      f"leading shape; reshape {y} or write the product with np.sum")


def unbroadcast_axes(shape, out_shape):
    """Axes of ``out_shape`` to sum over to get back ``shape``: (leading axes, kept axes)."""
    lead = len(out_shape) - len(shape)
    kept = tuple(i for i, n in enumerate(shape) if n == 1 and out_shape[lead + i] != 1)
    return tuple(range(lead)), kept


def _reduction(shape, out_shape):
    """The broadcast sum an adjoint needs, as data (leading axes, kept axes, shape), and its note."""
    lead, kept = unbroadcast_axes(shape, out_shape)
    if not lead and not kept:
        return None, ""
    ax = lambda t: str(t[0]) if len(t) == 1 else str(t)  # noqa: E731
    if not shape:
        note = "a number broadcast over the array: sum it all"
    elif not kept:
        note = f"broadcast over axis {ax(lead)}: sum it out"
    elif not lead:
        note = f"broadcast over axis {ax(kept)}: sum it out"
    else:
        note = f"broadcast over axes {ax(tuple(lead) + tuple(len(lead) + k for k in kept))}: sum them out"
    return (lead, kept, tuple(shape)), note


class Staged:
    """The shape-independent part: nodes in order, their names, which values need gradients;
    ``program(shapes)`` writes the lines (their backward lines depend on the shapes)."""

    def __init__(self, g, gates="grouped", source="", wrt=None):
        out = g.output
        in_loop = {id(n) for lp in getattr(g, "loops", []) for n in lp["body"] + lp["entries"]}
        if out.is_input or out.is_const or id(out) in in_loop:  # rolled loops: the output after the loop
            out = g.new("id", (out,))
        self.g, self.out, self.gates, self.source = g, out, gates, source
        live = _reachable([out])
        keep = _reachable([out] + [n for n in g.nodes if n.user_name])
        self.nodes = [n for n in g.nodes if id(n) in keep and not n.is_input and not n.is_const]
        self.live = live
        inputs = [g.inputs[p] for p, _ in g.params]
        inputs += [lp["index"] for lp in getattr(g, "loops", [])]  # rolled loops' variables: no gradient
        self.names = naming.assign_names(inputs + self.nodes, out, [str(n.value) for n in inputs])
        self.wrt = wrt  # the inputs to differentiate (None: all); data such as X gets no adjoint
        data = {id(g.inputs[p]) for p, _ in g.params if wrt is not None and p not in wrt}
        self.active = {id(n) for lp in getattr(g, "loops", []) for n in lp["entries"]}  # values a gradient
        #                                   flows to (a value entering a rolled loop's step gets the next one's)
        for n in inputs + self.nodes:
            if n.is_input:
                continue
            for i, a in enumerate(n.args):
                if not a.is_const and self.vjp_exists(n, i) and id(a) not in data:
                    if a.is_input or id(a) in self.active:
                        self.active.add(id(n))
                        self.active.add(id(a))
        back = {id(out)}  # values the output's gradient reaches (y = x + 1 used only by y.shape: not)
        for n in reversed(self.nodes):
            if id(n) in back:
                back.update(id(a) for i, a in enumerate(n.args) if self.vjp_exists(n, i))
        point = getattr(getattr(g, "control", None), "point", None) or {}
        integer = {id(g.inputs[p]) for p, _ in g.params if p in point
                   and np.asarray(point[p]).dtype.kind in "iu"}  # labels given at a point (y[i] in a loop)
        self.active = {k for k in self.active if k in back or k in {id(n) for n in inputs} - integer}
        self.active -= self._indexers() - back  # y.reshape(N * T) used as labels: y is labels too
        used = {id(a) for n in self.nodes for a in n.args}
        self.active.update(id(n) for n in inputs if id(n) not in used and id(n) not in data)  # gradient 0
        taken = set(self.names.values())
        self.adjoints = {}
        for n in inputs + self.nodes:
            if id(n) in self.active:
                self.adjoints[id(n)] = symbol(naming.adjoint_name(self.names[n], taken))
                taken.add(self.adjoints[id(n)].name)
        smooth = {id(a) for n in self.nodes for i, a in enumerate(n.args) if self.vjp_exists(n, i)}
        self.labels = [p for p, _ in g.params if id(g.inputs[p]) not in self.active and
                       (id(g.inputs[p]) not in data or id(g.inputs[p]) in used - smooth)]
        self._syms = {}

    def _indexers(self):
        """Values used as integer indices or labels (``x[rows, y_flat]``, ``onehot(y, k)``), and the
        values they were reshaped or sliced from, back to the inputs."""
        out = set()
        for n in reversed(self.nodes):
            if n.op in ("index", "setitem", "onehot", "softmax_cross_entropy"):
                out.update(id(a) for i, a in enumerate(n.args) if not self.vjp_exists(n, i)
                           and not getattr(ARRAY_RULES.get(a.op), "mask", False))
            if id(n) in out:
                out.update(id(a) for i, a in enumerate(n.args) if self.vjp_exists(n, i))
        return out

    @staticmethod
    def vjp_exists(n, i):
        return n.op in RULES or ARRAY_RULES[n.op].vjps[i] is not None

    def sym(self, a):
        if a.is_const:
            return a.value
        s = self._syms.get(id(a))
        if s is None:
            s = self._syms[id(a)] = symbol(self.names[a])
        return s

    def rhs(self, n):
        args = tuple(self.sym(a) for a in n.args)
        if n.op in RULES:
            return RULES[n.op].build(*args)
        return ArrayCall(n.op, args, n.opt("axis"), bool(n.opt("keepdims")), n.opt("subscript", ""))

    def program(self, shapes=None) -> Program:
        """The program's lines, specialised to ``shapes`` (every value's shape) when given."""
        g = self.g
        inputs = [self.sym(g.inputs[p]) for p, _ in g.params]
        adjoints = {self.sym(n): self.adjoints[id(n)] for n in list(g.inputs.values()) + self.nodes
                    if id(n) in self.adjoints}
        seeded = shapes is not None and shapes[self.names[self.out]] != () and id(self.out) in self.adjoints
        prog = Program(inputs, g.params, self.forward(shapes), self.backward(shapes), self.sym(self.out),
                       adjoints, self.gates, self.source, arrays=True, shapes=shapes,
                       labels=self.labels, name=getattr(g, "name", "f"), staged=self,
                       upstream=self.adjoints[id(self.out)] if seeded else None)
        if getattr(g, "loops", None):  # rolled loops: blocks over the lines of one iteration
            prog.loops, prog.backward = rolled.build(g, prog, {id(n): k for k, n in enumerate(self.nodes, 1)},
                                                     self.sym)
        return prog

    def forward(self, shapes=None):
        out = []
        for k, n in enumerate(self.nodes, 1):
            out.append(Line(k, self.sym(n), n.op, tuple(self.sym(a) for a in n.args), self.rhs(n),
                            bool(n.user_name), id(n) in self.live, n.lineno,
                            None if shapes is None else shapes[self.names[n]], n.label))
        return out

    def contributions(self, shapes=None):
        """(arg node, local, vjp, upstream, reduction, note, forward line number), reverse order."""
        number = {id(n): k for k, n in enumerate(self.nodes, 1)}
        items = []
        for n in reversed(self.nodes):
            if id(n) not in self.live or id(n) not in self.active:
                continue
            up = self.adjoints[id(n)]
            if n is self.out and (shapes is None or shapes[self.names[n]] == ()):
                up = None  # the output is one number: its adjoint is 1
            rule = RULES.get(n.op) or ARRAY_RULES[n.op]
            args = tuple(self.sym(x) for x in n.args)
            variant = None if n.op in RULES else _variant(n, rule, shapes, self.names)
            for i, a in enumerate(n.args):
                if id(a) not in self.active or not self.vjp_exists(n, i):
                    continue
                local = vjp = None
                if variant is None:
                    local = local_gradient(rule, i, args, self.sym(n))
                else:
                    parts = n.opt("parts")  # np.stack / np.concatenate: each part's slice of the adjoint
                    vjp = Vjp(n.op, i, variant, args, self.sym(n), up, n.opt("axis"), bool(n.opt("keepdims")),
                              parts[i] if parts else n.opt("subscript", ""))
                red, note = None, ""
                if shapes is not None and (n.op in RULES or ARRAY_RULES[n.op].elementwise):
                    red, note = _reduction(shapes[self.names[a]], shapes[self.names[n]])
                items.append((a, local, vjp, up, red, note, number[id(n)]))
        return items

    def backward(self, shapes=None):
        items = self.contributions(shapes)
        total, uses = {}, {}
        for a, *_ in items:
            total[id(a)] = total.get(id(a), 0) + 1
        for n in self.nodes:
            if id(n) in self.live:
                for a in n.args:
                    uses[id(a)] = uses.get(id(a), 0) + 1
        out, written = [], {}
        if id(self.out) in self.adjoints and (shapes is None or shapes[self.names[self.out]] == ()):
            out.append(seed_line(self.adjoints[id(self.out)], self.sym(self.out),
                                 self.nodes.index(self.out) + 1, None if shapes is None else ()))
        for a, local, vjp, up, red, note, ref in items:
            var, adj, n_uses = self.sym(a), self.adjoints[id(a)], uses.get(id(a), 1)
            k = written[id(a)] = written.get(id(a), 0) + 1
            shape = None if shapes is None else shapes[self.names[a]]
            if red is not None:
                text = _P.backward_rhs(BackLine(adj, var, local, up, False, ref, vjp=vjp))
                if group(text) != text:  # the product is its own line, then summed
                    tmp = symbol(f"{adj.name}_full")
                    out.append(BackLine(tmp, var, local, up, False, ref, n_uses, vjp,
                                        shape=shapes[self.names[self.nodes[ref - 1]]], note="before the sum"))
                    local, up, vjp = sp.S.One, tmp, None
            if vjp is not None and vjp.scatter:  # a statement adding into the adjoint in place
                if k == 1:
                    out.append(BackLine(adj, var, None, None, False, ref, n_uses, shape=shape,
                                        note="zeros to scatter into"))
                note = f"{var} is used {n_uses} times: gradients add" if k > 1 else ""
                out.append(BackLine(adj, var, None, up, True, ref, n_uses, vjp, shape=shape, note=note))
                continue
            line = BackLine(adj, var, local, up, k > 1, ref, n_uses, vjp, red, shape=shape)
            rhs = _P.backward_rhs(line)
            if k == 1 and total[id(a)] > 1 and _view(rhs):
                line = replace(line, copy=True)  # it will be added to in place
            if k > 1:
                fork = f"{var} is used {n_uses} times: gradients add"
                note = f"{fork}; {note}" if note else fork
            out.append(replace(line, note=note))
        return out


def _view(rhs: str) -> bool:
    """Is this backward right-hand side another array's memory (a name, ``.T``, a slice
    ``dH[:, 0]``, a reshape, a transpose), so that adding to it in place needs a copy first?"""
    if rhs.startswith("np.transpose(") and _closes_at_end(rhs, len("np.transpose")):
        return True
    m = re.match(r"[A-Za-z_]\w*", rhs)
    rest = rhs[m.end():] if m else None
    if rest in ("", ".T"):
        return True
    if rest and rest[0] == "[":
        return _closes_at_end(rest, 0)
    return bool(rest) and rest.startswith(".reshape(") and _closes_at_end(rest, len(".reshape"))


def _closes_at_end(text, start) -> bool:
    """Does the bracket at ``text[start]`` close at the end of ``text``?"""
    depth = 0
    for k, ch in enumerate(text[start:], start):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0:
            return k == len(text) - 1
    return False


def _reachable(roots):
    seen, stack = set(), list(roots)
    while stack:
        n = stack.pop()
        if id(n) not in seen:
            seen.add(id(n))
            stack.extend(n.args)
    return seen


def stage_arrays(f, gates: str = "grouped", shapes=None, constants=None, output=None, name=None,
                 path=None, control=None) -> Program:
    """Stage a straight-line NumPy function: a ``Program`` of arrays (specialised if ``shapes``).

    ``stage_arrays("def f(W, x):\\n    return np.sum(np.tanh(W @ x))\\n", shapes={"W": (2, 3),
    "x": (3,)})`` gives the lines ``Wx = W @ x``, ``tanhWx = np.tanh(Wx)``, ``f = np.sum(tanhWx)``
    and backward ``dtanhWx = np.ones_like(tanhWx)``, ``dWx = (1 - tanhWx**2) * dtanhWx``,
    ``dW = np.outer(dWx, x)``, ``dx = W.T @ dWx``.
    """
    if isinstance(f, Program):
        return f if shapes is None else f.with_shapes(shapes)
    source = f if isinstance(f, str) else getattr(f, "__name__", "")
    given = shapes if isinstance(shapes, dict) else None
    if control is None:  # loops: rolled, their trip counts from the shapes
        control = Control(False, None, given)
    elif given:
        control.shapes = {**given, **control.shapes}
    g = parse_array_function(f, gates, constants, output, name, path, control)
    prog = Staged(g, gates, source).program()
    if not control.unroll:  # rolled loops: how to stage them unrolled (circuits, sheets, sympy.diff)
        restage.keep(prog, stage_arrays, f, gates, shapes, constants, output, name, path,
                     Control(True, control.point, control.shapes))
    return prog if shapes is None else prog.with_shapes(numbers_unless_shaped(g, shapes))


def restrict(prog, wrt) -> Program:
    """``prog`` with adjoint lines only towards the inputs named in ``wrt`` (``wrt=["W1", "b1"]``:
    data inputs such as ``X`` get none); specialised to the same shapes."""
    if not prog.arrays or prog.staged is None:
        raise DeriveError("wrt= is for functions over arrays (give shapes=); a function of numbers "
                          "gets the gradient of every input")
    names = [wrt] if isinstance(wrt, str) else list(wrt) if isinstance(wrt, (list, tuple)) else None
    if not names or not all(isinstance(p, str) for p in names):
        raise DeriveError(f"wrt must name inputs to differentiate, e.g. wrt=['W1', 'b1']; got {wrt!r}")
    for p in names:
        if p not in prog.param_names:
            raise DeriveError(f"wrt names {p}, which is not an input; the inputs are {', '.join(prog.param_names)}")
        if p in prog.labels:
            raise DeriveError(f"wrt names {p}, which gets no gradient (it is used as labels, indices "
                              f"or sizes); leave it out of wrt")
    old = prog.staged
    new = Staged(old.g, old.gates, old.source, wrt=tuple(names)).program()
    return new if prog.shapes is None else new.with_shapes({p: prog.shapes[p] for p in prog.param_names})
