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

from dataclasses import dataclass

import sympy as sp

from derive.core import naming
from derive.printing.printers import NumpyPrinter
from derive.core.rules import ARRAY_RULES, RULES, local_gradient
from derive.core.primitives import onehot, softmax, softmax_cross_entropy  # noqa: F401 (API)
from derive.frontend.arrays import numbers_unless_shaped, parse_array_function
from derive.staging.array_program import ArrayProgram  # noqa: F401 (API)


_P = NumpyPrinter()


@dataclass(frozen=True)
class ALine:
    """Forward line ``number``: ``target = rhs`` (NumPy code), one gate; ``shape`` once known."""

    number: int
    target: str
    op: str
    args: tuple
    rhs: str
    shape: tuple | None = None
    user: bool = False
    used: bool = True
    values: tuple = ()    # the arguments as SymPy: Symbols of names, numbers of constants
    label: str = ""       # the helper function the line was inlined from

    def __str__(self):
        return f"{self.target} = {self.rhs}"


@dataclass(frozen=True)
class ABackLine:
    """Backward line ``target (+)= rhs`` for forward line ``ref``; ``var`` is the value it is for."""

    target: str
    var: str
    rhs: str
    accumulate: bool
    ref: int
    uses: int = 1
    shape: tuple | None = None
    note: str = ""

    def __str__(self):
        return f"{self.target} {'+=' if self.accumulate else '='} {self.rhs}"


def _kw(node):
    axis, keep = node.opt("axis"), node.opt("keepdims")
    return (f", axis={axis}" if axis is not None else "") + (", keepdims=True" if keep else "")


def _variant(node, rule, shapes, names):
    """The vjp templates for this gate: by ndims ("2,1") or options ("axis")."""
    table = dict(rule.variants)
    if node.op == "matmul" and shapes is not None:
        key = ",".join(str(len(shapes[names[a]])) for a in node.args)
    elif node.opt("axis") is not None:
        key = "keepdims" if node.opt("keepdims") else "axis"
    else:
        key = ""
    return table.get(key, rule.vjps)


def _group(text):
    """Parenthesise an expression that will be multiplied."""
    simple = text.replace("_", "").replace(".", "").isalnum()
    if text.startswith("(") and text.endswith(")"):
        depth = 0
        for i, ch in enumerate(text):
            depth += (ch == "(") - (ch == ")")
            if depth == 0 and i < len(text) - 1:
                break
        else:
            simple = True
    return text if simple else f"({text})"


def unbroadcast_axes(shape, out_shape):
    """Axes of ``out_shape`` to sum over to get back ``shape``: (leading axes, kept axes)."""
    lead = len(out_shape) - len(shape)
    kept = tuple(i for i, n in enumerate(shape) if n == 1 and out_shape[lead + i] != 1)
    return tuple(range(lead)), kept


def _reduce(expr, shape, out_shape):
    lead, kept = unbroadcast_axes(shape, out_shape)
    if not lead and not kept:
        return None, ""
    ax = lambda t: str(t[0]) if len(t) == 1 else str(t)  # noqa: E731
    if not shape:
        return f"np.sum({expr})", "a number broadcast over the array: sum it all"
    if not kept:
        return f"np.sum({expr}, axis={ax(lead)})", f"broadcast over axis {ax(lead)}: sum it out"
    if not lead:
        return f"np.sum({expr}, axis={ax(kept)}, keepdims=True)", f"broadcast over axis {ax(kept)}: sum it out"
    every = tuple(lead) + tuple(len(lead) + k for k in kept)
    return f"np.sum({expr}, axis={ax(every)}).reshape({shape})", f"broadcast over axes {ax(every)}: sum them out"


class Staged:
    """The shape-independent part: nodes in order, their names, which values need gradients."""

    def __init__(self, g):
        out = g.output
        if out.is_input or out.is_const:
            out = g.new("id", (out,))
        self.g, self.out = g, out
        live = _reachable([out])
        keep = _reachable([out] + [n for n in g.nodes if n.user_name])
        self.nodes = [n for n in g.nodes if id(n) in keep and not n.is_input and not n.is_const]
        self.live = live
        inputs = [g.inputs[p] for p, _ in g.params]
        self.names = naming.assign_names(inputs + self.nodes, out, [p for p, _ in g.params])
        self.active = set()  # values a gradient flows to
        for n in inputs + self.nodes:
            if n.is_input:
                continue
            for i, a in enumerate(n.args):
                if not a.is_const and self.vjp_exists(n, i):
                    if a.is_input or id(a) in self.active:
                        self.active.add(id(n))
                        self.active.add(id(a))
        back = {id(out)}  # values the output's gradient reaches (y = x + 1 used only by y.shape: not)
        for n in reversed(self.nodes):
            if id(n) in back:
                back.update(id(a) for i, a in enumerate(n.args) if self.vjp_exists(n, i))
        self.active = {k for k in self.active if k in back or k in {id(n) for n in inputs}}
        used = {id(a) for n in self.nodes for a in n.args}
        self.active.update(id(n) for n in inputs if id(n) not in used)  # gradient 0
        taken = set(self.names.values())
        self.adjoints = {}
        for n in inputs + self.nodes:
            if id(n) in self.active:
                self.adjoints[id(n)] = naming.adjoint_name(self.names[n], taken)
                taken.add(self.adjoints[id(n)])
        self.labels = [p for p, _ in g.params if id(g.inputs[p]) not in self.active]

    @staticmethod
    def vjp_exists(n, i):
        return n.op in RULES or ARRAY_RULES[n.op].vjps[i] is not None

    def sym(self, a):
        return a.value if a.is_const else sp.Symbol(self.names[a])

    def text(self, a):
        return _P.doprint(self.sym(a)) if a.is_const else self.names[a]

    def rhs(self, n):
        if n.op in RULES:
            return _P.doprint(RULES[n.op].build(*[self.sym(a) for a in n.args]))
        fmt = ARRAY_RULES[n.op].forward
        return fmt.format(*[self.text(a) for a in n.args], kw=_kw(n), axis=n.opt("axis"))

    def forward(self, shapes=None):
        out = []
        for k, n in enumerate(self.nodes, 1):
            name = self.names[n]
            out.append(ALine(k, name, n.op, tuple(self.text(a) for a in n.args), self.rhs(n),
                             None if shapes is None else shapes[name], bool(n.user_name),
                             id(n) in self.live, tuple(self.sym(a) for a in n.args), n.label))
        return out

    def contributions(self, shapes=None):
        """(arg node, vjp text, reduction or None, note, forward line number), reverse order."""
        number = {id(n): k for k, n in enumerate(self.nodes, 1)}
        items = []
        for n in reversed(self.nodes):
            if id(n) not in self.live or id(n) not in self.active:
                continue
            up = None if n is self.out else self.adjoints[id(n)]
            rule = RULES.get(n.op) or ARRAY_RULES[n.op]
            tmpl = None if n.op in RULES else _variant(n, rule, shapes, self.names)
            for i, a in enumerate(n.args):
                if id(a) not in self.active or not self.vjp_exists(n, i):
                    continue
                if tmpl is None:
                    local = local_gradient(rule, i, tuple(self.sym(x) for x in n.args), self.sym(n))
                    text = _P.doprint(local)
                    if up is None:
                        vjp = text
                    else:
                        vjp = up if local == 1 else f"-{up}" if local == -1 else f"{_group(text)} * {up}"
                else:
                    fields = {"g": up or "1.0", "y": self.names[n], "kw": _kw(n), "axis": n.opt("axis")}
                    vjp = tmpl[i].format(*[self.text(x) for x in n.args], **fields)
                    if up is None:
                        vjp = vjp.replace("1.0 * ", "", 1) if vjp.startswith("1.0 * ") else vjp
                red, note = None, ""
                if shapes is not None and (n.op in RULES or ARRAY_RULES[n.op].elementwise):
                    red, note = _reduce(vjp, shapes[self.names[a]], shapes[self.names[n]])
                items.append((a, vjp, red, note, number[id(n)]))
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
        for a, vjp, red, note, ref in items:
            var, adj = self.names[a], self.adjoints[id(a)]
            k = written[id(a)] = written.get(id(a), 0) + 1
            shape = None if shapes is None else shapes[var]
            if red is not None and _group(vjp) != vjp:  # the reduction is its own line
                tmp = f"{adj}_full"
                out.append(ABackLine(tmp, var, vjp, False, ref, uses.get(id(a), 1),
                                     shapes[self.names[self.nodes[ref - 1]]], "before the sum"))
                red = red.replace(vjp, tmp, 1)
            rhs = red or vjp
            if k == 1 and total[id(a)] > 1 and (rhs.isidentifier() or rhs.endswith(".T")):
                rhs += ".copy()"  # it will be added to in place
            if k > 1:
                fork = f"{var} is used {uses.get(id(a), 1)} times: gradients add"
                note = f"{fork}; {note}" if note else fork
            out.append(ABackLine(adj, var, rhs, k > 1, ref, uses.get(id(a), 1), shape, note))
        return out


def _reachable(roots):
    seen, stack = set(), list(roots)
    while stack:
        n = stack.pop()
        if id(n) not in seen:
            seen.add(id(n))
            stack.extend(n.args)
    return seen


def stage_arrays(f, gates: str = "grouped", shapes=None, constants=None, output=None, name=None, path=None):
    """Stage a straight-line NumPy function: ``ArrayProgram`` (specialised if ``shapes`` given).

    ``stage_arrays("def f(W, x):\\n    return np.sum(np.tanh(W @ x))\\n", shapes={"W": (2, 3),
    "x": (3,)})`` gives the lines ``Wx = W @ x``, ``tanhWx = np.tanh(Wx)``, ``f = np.sum(tanhWx)``
    and backward ``dtanhWx = np.ones_like(tanhWx)``, ``dWx = (1 - tanhWx**2) * dtanhWx``,
    ``dW = np.outer(dWx, x)``, ``dx = W.T @ dWx``.
    """
    if isinstance(f, ArrayProgram):
        return f if shapes is None else f.with_shapes(shapes)
    source = f if isinstance(f, str) else getattr(f, "__name__", "")
    g = parse_array_function(f, gates, constants, output, name, path)
    prog = ArrayProgram(Staged(g), gates, source)
    return prog if shapes is None else prog.with_shapes(numbers_unless_shaped(g, shapes))
