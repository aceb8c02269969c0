"""Staging: graph -> forward lines (one gate each, named), and the reverse sweep -> backward lines.

A :class:`Program` is data: its forward and backward lines hold SymPy expressions, so one
program prints as Python, LaTeX or Markdown (``derive.printing.printers``), evaluates numerically
(``derive.staging.evaluate``) and can be compared with ``sympy.diff`` (``derive.check``). Both
passes are single loops over the lines: no recursion, linear in the number of stages.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass

import sympy as sp

from derive.staging import codegen
from derive.staging import evaluate
from derive.core import naming
from derive.printing import printers as printing
from derive.circuit.draw import circuit as draw_circuit
from derive.core.errors import DeriveError
from derive.core.naming import symbol
from derive.frontend.parse import Graph, Node, parse_expression, parse_sympy
from derive.frontend.reader import parse_callable, parse_function
from derive.core.rules import RULES, apply, local_gradient
from derive.staging.arrays import stage_arrays
from derive.frontend.arrays import uses_arrays
from derive.staging.array_program import ArrayProgram


@dataclass(frozen=True)
class Line:
    """Forward line ``number``: ``target = rhs`` where rhs is one gate applied to ``args``."""

    number: int
    target: sp.Symbol
    op: str
    args: tuple
    rhs: sp.Expr
    user: bool = False      # the name is the user's own
    used: bool = True       # reaches the output
    source_line: int | None = None


@dataclass(frozen=True)
class BackLine:
    """Backward line: ``target (+)= local * upstream``, differentiating forward line ``ref``."""

    target: sp.Symbol        # the adjoint being written, d<var>
    var: sp.Symbol           # the forward variable it belongs to
    local: sp.Expr           # local gradient d(out of line ref)/d(var)
    upstream: sp.Symbol | None  # adjoint of the line's output; None for the output (it is 1)
    accumulate: bool         # += (the variable forks and an earlier line already wrote it)
    ref: int                 # forward line number
    uses: int = 1            # how many times var is used in the forward pass

    @property
    def expr(self) -> sp.Expr:
        return self.local if self.upstream is None else sp.Mul(self.local, self.upstream, evaluate=False)


class Program:
    """A staged program: forward lines, backward lines, and how to run and print them."""

    def __init__(self, inputs, params, forward, backward, output, adjoints, gates, source=""):
        self.inputs = list(inputs)            # input Symbols (list elements flattened: w[0], ...)
        self.params = list(params)            # [(name, length or None)] as the user passes them
        self.forward = list(forward)
        self.backward = list(backward)
        self.output = output                  # Symbol of the value
        self.adjoints = dict(adjoints)        # every variable Symbol -> its adjoint Symbol
        self.gates = gates
        self.source = source
        self._compiled = {}
        self._expr = None

    # ---- numbers -------------------------------------------------------------------------
    def run(self, exact: bool = False, **values):
        """Evaluate at a point: ``prog.run(x=3, y=-4)`` -> Result (value, grad, every line).

        ``exact=True`` evaluates with 50-digit arithmetic and rounds each number once, giving
        the correctly rounded values (what the CS231n notes print).
        """
        return evaluate.run(self, values, exact=exact)

    def gradient_function(self, mode: str = "math"):
        """The gradient as a compiled function ``(*params) -> (grad per parameter, ...)``.

        Only the gradient comes back (lists for list parameters): the fast path. ``run`` is
        the teaching path, returning every intermediate and adjoint.
        """
        return evaluate.gradient_function(self, mode)

    # ---- sizes ---------------------------------------------------------------------------
    @property
    def forward_ops(self) -> int:
        return sum(int(sp.count_ops(ln.rhs, visual=False)) for ln in self.forward)

    @property
    def backward_ops(self) -> int:
        """Operations of the backward lines as printed: a copy ``dsigx = dden`` costs none."""
        return sum((0 if bl.upstream is not None and bl.local == 1
                    else int(sp.count_ops(bl.expr, visual=False))) + bl.accumulate
                   for bl in self.backward)

    # ---- symbolic view -------------------------------------------------------------------
    def expr(self) -> sp.Expr:
        """The whole function as one SymPy expression in the inputs (evaluated, so it may be
        large); built once per program (the lines are data and are not changed in place).

        A chain of sums (``a + b - c + ...``) is built as one n-ary ``Add`` (as is a chain of
        products without sums in it), not term by term: SymPy flattens ``Add(acc, t)`` in time
        proportional to ``acc``, so the fold would be quadratic in the chain's length. The
        result is the fold's expression (floating-point constants may be summed in another order).
        """
        if self._expr is None:
            self._expr = _expression(self)
        return self._expr

    @property
    def grad_symbols(self) -> dict:
        """Input name -> adjoint Symbol (elements of list inputs keyed 'w[0]', ...)."""
        return {s.name: self.adjoints[s] for s in self.inputs}

    # ---- printing ------------------------------------------------------------------------
    def to_python(self, name: str = "f_and_grad") -> str:
        return codegen.python_function(self, name)

    def to_latex(self) -> str:
        return printing.latex_program(self)

    def to_markdown(self, result=None) -> str:
        return printing.markdown_program(self, result)

    def to_text(self, result=None) -> str:
        return printing.text_program(self, result)

    def circuit(self, exact: bool = True, **values):
        """The CS231n circuit diagram, with values and gradients when given a point."""
        return draw_circuit(self, self.run(exact=exact, **values) if values else None)

    def __str__(self):
        return self.to_text()

    def __repr__(self):
        args = ", ".join(p if n is None else f"{p}[{n}]" for p, n in self.params)
        return (f"<Program {self.output}({args}): {len(self.forward)} forward lines, "
                f"{len(self.backward)} backward lines, gates={self.gates}>")

    def _repr_html_(self):
        return printing.html_program(self)


def _expression(prog) -> sp.Expr:
    env = {s: s for s in prog.inputs}
    uses: dict = {}
    for ln in prog.forward:
        for a in ln.args:
            uses[a] = uses.get(a, 0) + 1
    pending: dict = {}  # target -> (kind, operands) of a chain not built yet, used exactly once later

    def value(a):
        if a in pending:
            kind, items = pending.pop(a)
            env[a] = sp.Add(*items) if kind == "add" else sp.Mul(*items)
        return env.get(a, a)

    def operands(a, kind):
        if a in pending and pending[a][0] == kind:
            return pending.pop(a)[1]   # used once: extend its list in place
        return [value(a)]

    for ln in prog.forward:
        t, op, args = ln.target, ln.op, ln.args
        if op in ("add", "sub"):
            items = operands(args[0], "add")
            items.append(value(args[1]) if op == "add" else -value(args[1]))
            kind = "add"
        elif op == "mul":
            left, right = operands(args[0], "mul"), operands(args[1], "mul")
            if any(map(_sum_inside, left + right)):  # 2*(a + b) distributes: fold as written
                env[t] = apply("mul", sp.Mul(*left), sp.Mul(*right))
                continue
            items, kind = left + right, "mul"
        else:
            env[t] = apply(op, *[value(a) for a in args])
            continue
        if uses.get(t, 0) == 1 and t != prog.output:
            pending[t] = (kind, items)
        else:
            env[t] = sp.Add(*items) if kind == "add" else sp.Mul(*items)
    return value(prog.output)


def _sum_inside(e) -> bool:
    """A factor that is, or may combine into, a sum (a product's fold would distribute over it)."""
    return e.is_Add or e.is_Pow and e.base.is_Add or e.is_Mul and any(map(_sum_inside, e.args))


def stage(f, gates: str = "grouped", inputs=None, shapes=None, constants=None, output=None) -> Program:
    """Stage an expression string, a SymPy expression, or a straight-line Python function.

    A function over NumPy arrays (it uses ``@``, ``.T``, ``np.sum``, ...), or any function
    given with ``shapes={...}``, is staged by the array engine (``derive.staging.arrays``).

    >>> prog = stage("(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)")
    >>> prog.run(x=3, y=-4, exact=True).grad["x"]
    2.059569795572165
    """
    if isinstance(f, Program):
        return f
    if shapes is not None or constants is not None or isinstance(f, ArrayProgram) or \
            (inspect.isfunction(f) or isinstance(f, str) and "def " in f) and uses_arrays(f):
        return stage_arrays(f, gates, shapes, constants=constants, output=output)
    if isinstance(f, str):
        text = f.strip()
        if text.startswith("def ") or "\ndef " in text or "\n" in text and "return" in text:
            g = parse_function(text, None, gates, output)
            source = text
        else:
            g = parse_expression(text, gates)
            source = text
    elif isinstance(f, sp.Basic):
        g = parse_sympy(f, gates, inputs)
        source = str(f)
    elif inspect.isfunction(f):
        g = parse_callable(f, gates, output)
        source = f.__name__
    else:
        raise DeriveError(f"cannot stage a {type(f).__name__}: pass an expression string, "
                          "a SymPy expression or a Python function")
    return stage_graph(g, source)


def _reachable(roots):
    seen, stack = set(), list(roots)
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        stack.extend(n.args)
    return seen


def stage_graph(g: Graph, source: str = "") -> Program:
    """Forward staging (names, one gate per line) and the reverse sweep over it."""
    out = g.output
    if out.is_input or out.is_const:  # f = x: one identity line so there is something to stage
        out = Node("id", (out,), index=len(g.nodes))
        g.nodes.append(out)
    live = _reachable([out])
    named = [n for n in g.nodes if n.user_name and not n.is_input and not n.is_const]
    keep = _reachable([out] + named)
    nodes = [n for n in g.nodes if id(n) in keep and not n.is_input and not n.is_const]
    input_nodes = list(g.inputs.values())
    names = naming.assign_names(input_nodes + nodes, out, [str(n.value) for n in input_nodes])

    syms = {}

    def sym(n):  # one Symbol per node (SymPy's Symbol constructor is slow; a walk calls this often)
        s = syms.get(n)
        if s is None:
            s = syms[n] = n.value if n.is_const else symbol(names[n])
        return s

    forward, line_of = [], {}
    for k, n in enumerate(nodes, 1):
        args = tuple(sym(a) for a in n.args)
        forward.append(Line(k, sym(n), n.op, args, RULES[n.op].build(*args),
                            user=bool(n.user_name), used=id(n) in live, source_line=n.lineno))
        line_of[id(n)] = k
    inputs = [sym(n) for n in input_nodes]
    taken = set(names.values())
    adjoints = {}
    for n in input_nodes + nodes:
        s = sym(n)
        adjoints[s] = symbol(naming.adjoint_name(s.name, taken))
        taken.add(adjoints[s].name)

    uses = {}
    for n in nodes:
        if id(n) in live:
            for a in n.args:
                uses[id(a)] = uses.get(id(a), 0) + 1
    backward, written = [], set()
    out_sym = sym(out)
    for n in reversed(nodes):
        if id(n) not in live:
            continue
        rule = RULES[n.op]
        args = tuple(sym(a) for a in n.args)
        up = None if n is out else adjoints[sym(n)]
        for i, a in enumerate(n.args):
            if a.is_const:
                continue
            local = local_gradient(rule, i, args, sym(n))
            if local.has(sp.I, sp.zoo, sp.nan, sp.oo, -sp.oo):  # (-2)**x: log(-2) in d/dx
                raise DeriveError(f"line ({line_of[id(n)]}) `{forward[line_of[id(n)] - 1].target} = "
                                  f"{forward[line_of[id(n)] - 1].rhs}` has no real derivative with "
                                  f"respect to {sym(a)} (its local gradient is {local}); "
                                  "use a positive constant base")
            backward.append(BackLine(adjoints[sym(a)], sym(a), local, up, id(a) in written,
                                     line_of[id(n)], uses.get(id(a), 1)))
            written.add(id(a))
    params = g.params or [(s.name, None) for s in inputs]
    return Program(inputs, params, forward, backward, out_sym, adjoints, g.gates, source)
