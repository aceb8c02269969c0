"""The total derivative as a sum over paths: one term per path, each a product of local derivatives.

For l(x) = h(f(x), g(x)) or f(x(t), y(t)), d(output)/d(input) is the sum, over every path
from the input to the output in the staged program, of the product of the local gradients
along the path (discussion sheet 1(a)-(b); total-derivative article 2.1). Each path shows
its term, the backward lines that carry it (the ``+=`` line is where it joins the others),
and what a learner gets who applies the single-variable chain rule along that path only.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

import sympy as sp

from derive.core.errors import DeriveError
from derive.core.naming import symbol
from derive.printing.printers import CodePrinter, _fmt
from derive.core.rules import apply
from derive.staging.staged import stage
from derive.symbolic.budget import within
from derive.staging.staged import stage_graph
from derive.frontend.parse import Graph
from derive.frontend.parse import _ExprBuilder

MAX_PATHS = 64


@dataclass
class Path:
    """One path input -> ... -> output: its backward lines (input end first) and its term."""

    nodes: list              # Symbols from the input to the output
    lines: list              # BackLines, one per edge, input end first
    factors: list            # local gradients along the path (in the program's names)
    term: sp.Expr            # their product, in the inputs
    value: float | None = None

    @property
    def product(self) -> sp.Expr:
        return sp.Mul(*self.factors, evaluate=False) if len(self.factors) > 1 else self.factors[0]


@dataclass
class TotalDerivative:
    """d(output)/d(wrt) of a staged program, path by path, checked against sympy.diff."""

    prog: object
    wrt: sp.Symbol
    paths: list
    total: sp.Expr           # sum of the terms, in the inputs
    diff: sp.Expr            # sympy.diff of the whole function
    agrees: bool             # total == diff (symbolically, else at the point)
    point: dict = field(default_factory=dict)
    value: float | None = None   # the staged gradient at the point
    count: int = 0           # number of paths (may exceed len(paths) when there are too many)

    def mistakes(self) -> list:
        """(path index, single-path value, how far off) for each path: the one-path answer."""
        if self.value is None:
            return []
        return [(k, p.value, self.value - p.value) for k, p in enumerate(self.paths, 1)]

    def to_text(self) -> str:
        p = CodePrinter()
        out_name, wrt = self.prog.output.name, self.wrt.name
        at = ", ".join(f"{k} = {_fmt(v)}" for k, v in self.point.items())
        head = f"d{out_name}/d{wrt}: {self.count} path{'s' * (self.count != 1)} from {wrt} to {out_name}"
        lines = [head + (f" (showing {len(self.paths)})" if len(self.paths) < self.count else "")]
        for k, path in enumerate(self.paths, 1):
            lines.append(f"  path {k}: {' -> '.join(s.name for s in path.nodes)}")
            factors = " * ".join(f"({p.doprint(f)})" if not f.is_Atom else p.doprint(f) for f in path.factors)
            val = f"   = {_fmt(path.value)} at {at}" if path.value is not None else ""
            lines.append(f"    term: {factors} = {p.doprint(path.term)}{val}")
            for bl in reversed(path.lines):
                mark = "   <- joins the other paths here" if bl.accumulate else ""
                lines.append(f"      {p._print(bl)}{mark}")
        lines.append(f"  sum of the terms: {p.doprint(self.total)}")
        lines.append(f"  sympy.diff:       {p.doprint(self.diff)}   "
                     + ("(equal)" if self.agrees else "(DIFFERENT)"))
        if self.value is not None:
            lines.append(f"  at {at}: d{out_name}/d{wrt} = {_fmt(self.value)} (staged backward pass)")
            for k, v, off in self.mistakes():
                rel = f", {abs(off) / abs(self.value):.0%}" if self.value else ""
                lines.append(f"  single-variable chain rule along path {k} only: {_fmt(v)} "
                             f"(off by {_fmt(off)}{rel})")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        p = CodePrinter()
        return {
            "wrt": self.wrt.name, "output": self.prog.output.name, "count": self.count,
            "paths": [{"nodes": [s.name for s in q.nodes], "factors": [p.doprint(f) for f in q.factors],
                       "term": p.doprint(q.term), "value": q.value,
                       "lines": [p._print(bl) for bl in reversed(q.lines)]} for q in self.paths],
            "total": p.doprint(self.total), "diff": p.doprint(self.diff), "agrees": self.agrees,
            "point": self.point, "value": self.value,
        }

    def __str__(self):
        return self.to_text()


def count_paths(prog) -> dict:
    """Number of paths from every variable to the output (dynamic programming, no listing)."""
    n = {prog.output: 1}
    by_ref = {ln.number: ln.target for ln in prog.forward}
    for bl in prog.backward:  # reverse topological order: consumers first
        if bl.seed:
            continue
        n[bl.var] = n.get(bl.var, 0) + n.get(by_ref[bl.ref], 0)
    return n


def forks(prog) -> list:
    """Inputs with more than one path to the output (where the total derivative matters)."""
    counts = count_paths(prog)
    return [s for s in prog.inputs if counts.get(s, 0) > 1]


def _values_in_inputs(prog) -> dict:
    env = {s: s for s in prog.inputs}
    for ln in prog.forward:
        env[ln.target] = apply(ln.op, *[env.get(a, a) for a in ln.args])
    return env


def _enumerate(prog, start, limit):
    by_ref = {ln.number: ln.target for ln in prog.forward}
    out_edges: dict = {}
    for bl in (b for b in prog.backward if not b.seed):
        out_edges.setdefault(bl.var, []).append(bl)
    for edges in out_edges.values():
        edges.reverse()                   # forward order: the earlier consumer first
    found, stack = [], [(start, [])]
    while stack and len(found) < limit:
        node, path = stack.pop()
        if node == prog.output:
            found.append(path)
            continue
        for bl in reversed(out_edges.get(node, [])):
            stack.append((by_ref[bl.ref], path + [bl]))
    return found


def paths(f, wrt=None, at=None, limit: int = MAX_PATHS, gates: str = "grouped",
          symbolic: bool = True) -> TotalDerivative:
    """The total derivative of a staged program with respect to one input, path by path.

    ``symbolic=False`` skips ``sympy.diff`` of the whole function (it can swell without end):
    ``diff`` and ``total`` are then NaN, each term is left unevaluated, and the sum is checked
    by the terms' values at the point only."""

    prog = stage(f, gates=gates)
    names = {s.name: s for s in prog.inputs}
    if wrt is None:
        if len(prog.inputs) != 1:
            raise DeriveError(f"say which input to differentiate by: one of {', '.join(names)}")
        wrt = prog.inputs[0].name
    if str(wrt) not in names:
        raise DeriveError(f"'{wrt}' is not an input; the inputs are {', '.join(names)}")
    s = names[str(wrt)]
    env = _values_in_inputs(prog)
    count = count_paths(prog).get(s, 0)
    found = []
    by_ref = {ln.number: ln.target for ln in prog.forward}
    for edges in _enumerate(prog, s, limit):
        nodes = [s] + [by_ref[bl.ref] for bl in edges]
        factors = [bl.local for bl in edges]
        term = sp.Mul(*[f.xreplace(env) for f in factors], evaluate=symbolic)
        found.append(Path(nodes, edges, factors, term))
    total = sp.Add(*[q.term for q in found]) if count <= limit and symbolic else sp.nan
    real = {x: sp.Symbol(x.name, real=True) for x in prog.inputs}
    diff = (sp.diff(env[prog.output].xreplace(real), real[s]).xreplace({v: k for k, v in real.items()})
            if symbolic else sp.nan)
    point = _point(prog, at)
    value = None
    if point:
        res = prog.run(exact=True, **point)
        value = res.grad[s.name] if "[" not in s.name else res.grad[s.name.split("[")[0]][int(s.name[:-1].split("[")[1])]
        numbers = {symbol(k): v for k, v in res.values.items()}
        numbers.update({x: _at(point, x.name) for x in prog.inputs})
        for q in found:
            q.value = float(sp.Mul(*[f.xreplace(numbers) for f in q.factors]))
    agrees = count <= limit and _same(total, diff, found, value, 2.0 if symbolic else None)
    return TotalDerivative(prog, s, found, total, diff, bool(agrees), point, value, count)


EXPAND_OPS = 400      # ops of (sum - diff) up to which expand is tried first (ms, not seconds)


def _is_zero(e):
    return sp.simplify(e) == 0


def _expands_to_zero(e) -> bool:
    """``expand`` shows ``e`` is 0 (a proof when it does; small expressions only: it is tried
    in the caller's process, before ``simplify`` is given a worker)."""
    return sp.count_ops(e) <= EXPAND_OPS and sp.expand(e) == 0


def _same(total, diff, found, value, seconds: float | None = 2.0) -> bool:
    """sum of the terms == sympy.diff: symbolically if ``expand`` shows it, or simplify answers
    within ``seconds`` (``None``: not tried), else (or also) the terms' values at the point add
    up to the staged gradient."""
    if seconds and _expands_to_zero(total - diff):
        return True
    out = within(seconds, _is_zero, total - diff) if seconds else None
    if out is not None and out.ok:
        return bool(out.value)
    return value is not None and abs(sum(q.value for q in found) - value) <= 1e-9 * max(1, abs(value))


def _at(point, name):
    if "[" in name:
        base, idx = name[:-1].split("[")
        return point[base][int(idx)]
    return point[name]


def _point(prog, at):
    if at is False:
        return {}
    if at is None:
        return {n: (2.0 if size is None else [2.0] * size) for n, size in prog.params}
    return dict(at)


def total_derivative(outer, inner=None, wrt=None, at=None, output=None, gates: str = "grouped"):
    """The total derivative of ``outer`` (a function of ``inner``'s names), path by path.

    >>> td = total_derivative("f**2 + g**2", {"f": "x**2", "g": "x"}, output="l")
    >>> [str(p.term) for p in td.paths], str(td.total)
    (['4*x**3', '2*x'], '4*x**3 + 2*x')

    Without ``inner``, ``outer`` is anything ``stage`` accepts (an expression, a Python
    function, a Program) and the paths run through its staged lines.
    """
    if inner is None:
        return paths(outer, wrt, at, gates=gates)

    g = _compose(outer, dict(inner), output, gates)
    inputs = list(g.inputs)
    return paths(stage_graph(g, _describe(outer, inner)), wrt or (inputs[0] if len(inputs) == 1 else None),
                 at, gates=gates)


def _describe(outer, inner):
    return outer + " with " + ", ".join(f"{k} = {v}" for k, v in inner.items())


def _compose(outer, inner, output, gates):
    """Graph of outer(inner...) with each inner function a named node (identity made explicit)."""

    if not isinstance(outer, str) or not all(isinstance(v, str) for v in inner.values()):
        raise DeriveError("total_derivative(outer, inner): give expression strings")
    for name in list(inner) + ([output] if output else []):
        if not str(name).isidentifier():
            raise DeriveError(f"'{name}' is not a valid name")
    g = Graph(gates)
    nodes, seen = {}, {}
    for name, text in inner.items():
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as err:
            raise DeriveError(f"syntax error in {name} = {text}: {err.msg}") from None
        node = _ExprBuilder(g, g.input, strict=True).build(tree.body)
        if node.is_input or node.is_const:
            node = g.op("id", node) if node.is_input else node
        if id(node) in seen:
            raise DeriveError(f"{name} and {seen[id(node)]} are the same function; merge them")
        seen[id(node)] = name
        node.user_name = name
        nodes[name] = node
    try:
        tree = ast.parse(outer.strip(), mode="eval")
    except SyntaxError as err:
        raise DeriveError(f"syntax error in {outer}: {err.msg}") from None
    out = _ExprBuilder(g, lambda n: nodes[n] if n in nodes else g.input(n), strict=True).build(tree.body)
    if out.is_input or out.is_const or out.user_name:
        out = g.op("id", out)
    if output:
        out.user_name = output
    g.output = out
    g.params = [(n, None) for n in g.inputs]
    return g
