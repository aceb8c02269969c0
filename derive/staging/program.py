"""The staged program: one type for scalar and array functions, its lines as structured data.

A :class:`Program` holds forward :class:`Line` s (``target = rhs``, one gate each) and
:class:`BackLine` s (``d<var> (+)= ...``, one per (gate, argument)). Every right-hand side is
data, never text: a SymPy expression of one elementwise gate (``tanh(Wx)``, ``x*y``), or for
an array gate an :class:`ArrayCall` (a row of ``ARRAY_RULES`` applied to argument symbols, with
its ``axis``/``keepdims``); a backward line holds the gate's local gradient times the upstream
adjoint, or an array gate's :class:`Vjp` (the row's vector-Jacobian product for one argument),
and for arrays the broadcast sum it needs (``reduce``). The printers (``derive.printing.printers``),
the evaluators (``derive.staging.evaluate`` for numbers, ``derive.staging.array_program`` for arrays), the
Jacobians (``derive.jacobians``), circuits and sheets all read these same lines.

Scalar and array programs differ by the shapes of their values, not by class: ``arrays`` says
whether the values are NumPy arrays, ``shapes`` gives every value's shape once known
(``prog.with_shapes(...)`` or from the arrays given to ``run``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from derive.staging import codegen, restage, rolled
from derive.staging import evaluate
from derive.staging import optimize
from derive.printing import printers as printing
from derive.staging import array_program as vector_program
from derive.circuit.draw import circuit as draw_circuit
from derive.circuit.loopbox import circuit as loop_circuit
from derive.printing import loops as loop_printing
from derive.core.errors import DeriveError
from derive.core.naming import symbol
from derive.core.rules import ARRAY_RULES, apply


@dataclass(frozen=True)
class ArrayCall:
    """An array gate applied to its arguments: ``matmul(W, x)`` prints ``W @ x``."""

    op: str                  # the row of ARRAY_RULES
    args: tuple              # Symbols of names, SymPy numbers of constants
    axis: object = None
    keepdims: bool = False
    subscript: str = ""      # indexing: the subscript, its index arguments as {1}, {2}

    @property
    def rule(self):
        return ARRAY_RULES[self.op]


@dataclass(frozen=True)
class Vjp:
    """Argument ``index``'s vector-Jacobian product through an array gate (its row's template,
    chosen by ``variant``: the arguments' numbers of dimensions or the options)."""

    op: str
    index: int
    variant: str
    args: tuple
    out: sp.Symbol           # the gate's output (``{y}`` in the template)
    upstream: sp.Symbol | None  # the output's adjoint (``{g}``); None for the program's output
    axis: object = None
    keepdims: bool = False
    subscript: str = ""      # indexing: the subscript, its index arguments as {1}, {2}

    @property
    def template(self) -> str:
        rule = ARRAY_RULES[self.op]
        return dict(rule.variants).get(self.variant, rule.vjps)[self.index]

    @property
    def scatter(self) -> bool:
        """A statement that adds into the adjoint ``{d}`` in place (``np.add.at(dW, x, dout)``)."""
        return "{d}" in self.template


@dataclass(frozen=True)
class Line:
    """Forward line ``number``: ``target = rhs`` where rhs is one gate applied to ``args``."""

    number: int
    target: sp.Symbol
    op: str
    args: tuple
    rhs: object              # SymPy expression, or ArrayCall for an array gate
    user: bool = False      # the name is the user's own
    used: bool = True       # reaches the output
    source_line: int | None = None
    shape: tuple | None = None  # arrays: the value's shape, once known
    label: str = ""         # the helper function the line was inlined from (affine_forward)

    def __str__(self):
        return _NUMPY._print(self)


@dataclass(frozen=True)
class BackLine:
    """Backward line: ``target (+)= local * upstream`` (or an array gate's ``vjp``),
    differentiating forward line ``ref``."""

    target: sp.Symbol        # the adjoint being written, d<var>
    var: sp.Symbol           # the forward variable it belongs to
    local: sp.Expr | None    # local gradient d(out of line ref)/d(var); None with a vjp (or,
    #                          with neither, the zeros a scatter adds into)
    upstream: sp.Symbol | None  # adjoint of the line's output; None for the output (it is 1)
    accumulate: bool         # += (the variable forks and an earlier line already wrote it)
    ref: int                 # forward line number
    uses: int = 1            # how many times var is used in the forward pass
    vjp: Vjp | None = None   # array gates: the vector-Jacobian product
    reduce: tuple | None = None  # arrays: (leading axes, kept axes, shape) of a broadcast sum
    copy: bool = False       # arrays: a copy, since later lines add to it in place
    shape: tuple | None = None
    note: str = ""
    seed: bool = False       # the line ``df = 1`` that starts the backward pass

    @property
    def expr(self) -> sp.Expr:
        return self.local if self.upstream is None else sp.Mul(self.local, self.upstream, evaluate=False)

    def __str__(self):
        return _NUMPY._print(self)


def seed_line(adjoint, output, ref, shape=None) -> "BackLine":
    """The first backward line, ``df = 1``: the output's gradient with respect to itself (CS231n
    and micrograd both start the backward pass by writing it)."""
    return BackLine(adjoint, output, sp.S.One, None, False, ref, 1, shape=shape,
                    note=f"the seed: d{output}/d{output} = 1", seed=True)


_NUMPY = printing.NumpyPrinter()  # lines print as NumPy code (the printer keeps no state)
_CODE = printing.CodePrinter()


class Program:
    """A staged program: forward lines, backward lines, and how to run and print them."""

    def __init__(self, inputs, params, forward, backward, output, adjoints, gates, source="",
                 *, arrays=False, shapes=None, labels=(), name="f", staged=None, upstream=None):
        self.inputs = list(inputs)            # input Symbols (list elements flattened: w[0], ...)
        self.params = list(params)            # [(name, length or None)] as the user passes them
        self.forward = list(forward)
        self.backward = list(backward)
        self.output = output                  # Symbol of the value
        self.adjoints = dict(adjoints)        # every variable Symbol -> its adjoint Symbol
        self.gates = gates
        self.source = source
        self.arrays = arrays                  # the values are NumPy arrays
        self.shapes = shapes                  # arrays: {name: shape} of every value, once known
        self.labels = list(labels)            # arrays: integer inputs with no gradient (classes)
        self.name = name
        self.staged = staged                  # arrays: the stager, to specialise to shapes
        self.upstream = upstream              # arrays: adjoint Symbol of a non-scalar output (dout),
        #                                       a parameter of the backward pass (run(upstream=...))
        self.grads = {p: adjoints[symbol(p)] for p, size in self.params
                      if size is None and symbol(p) in adjoints}   # parameter -> adjoint Symbol
        self._compiled = {}
        self._expr = None
        self._special = {}                    # shapes -> specialised program (arrays)
        self._base = self
        self.loops = []                       # rolled loops (derive.staging.rolled.Loop) over line ranges
        self.restage = None                   # rolled: how to stage it unrolled (derive.staging.restage)
        self.unrolled_note = ""               # staged unrolled from a rolled program: says so in runs

    @property
    def param_names(self) -> list:
        return [p for p, _ in self.params]

    @property
    def notes(self) -> list:
        """What reading the function resolved or left out (branches, ignored writes, ...)."""
        g = getattr(self.staged, "g", None)
        return list(getattr(g, "notes", None) or getattr(self, "graph_notes", None) or [])

    # ---- numbers -------------------------------------------------------------------------
    def run(self, exact: bool = False, upstream=None, **values):
        """Evaluate at a point: ``prog.run(x=3, y=-4)`` -> Result (value, grad, every line).

        ``exact=True`` evaluates with 50-digit arithmetic and rounds each number once, giving
        the correctly rounded values (what the CS231n notes print). Array programs take NumPy
        arrays and run in float64 (``exact`` is ignored); a function whose output is an array
        takes its upstream gradient ``upstream=`` (``dout`` in CS231n's layers), and ``grad``
        holds the vector-Jacobian products.
        """
        if self.loops and self.arrays:
            spec = vector_program.with_shapes(self, {k: np.shape(v) for k, v in values.items()})
            return rolled.run(spec, _NUMPY, values, upstream=upstream)
        if self.loops:
            return rolled.run(self, _CODE, values)
        if self.arrays:
            out = vector_program.run(self, values, upstream)
        elif upstream is not None:
            raise DeriveError("upstream= is for functions whose output is an array; this one "
                              "returns a number (its upstream gradient is 1)")
        else:
            out = evaluate.run(self, values, exact=exact)
        if self._base.unrolled_note and self._base.unrolled_note not in out.notes:
            out.notes.append(self._base.unrolled_note)
        return out

    def unrolled(self, what: str = "this reader", limit: int = restage.SYMBOLIC_TRIPS) -> "Program":
        """This rolled program staged again with its loops unrolled (once), if no loop runs more
        than ``limit`` steps; else one line saying to stage it with ``unroll=True``."""
        return restage.unrolled(self, what, limit)

    def gradient_function(self, mode: str = "math", value: bool = False):
        """The gradient as a compiled function ``(*params) -> (grad per parameter, ...)``.

        Only the gradient comes back (lists for list parameters): the fast path. ``run`` is
        the teaching path, returning every intermediate and adjoint. Arrays (with shapes):
        ``(*params[, upstream]) -> (*gradients in prog.grads order)``, ``value=True`` puts the
        value first; compiled from the lines after ``derive.staging.optimize``'s passes.
        """
        self._flat("gradient_function")
        if self.arrays:  # the speed path
            if self.shapes is None:
                raise DeriveError("give shapes first: prog.with_shapes(...).gradient_function()")
            return optimize.gradient_function(self, value)
        if value:
            raise DeriveError("value=True is for array programs; run() gives a number's value and gradient")
        return evaluate.gradient_function(self, mode)

    # ---- shapes (arrays) -----------------------------------------------------------------
    def with_shapes(self, shapes=None, **kw):
        """This program specialised to input shapes: ``prog.with_shapes(W1=(5, 3), x=(3,))``."""
        if not self.arrays:
            raise DeriveError("this program's inputs are numbers: it has no shapes to give")
        return vector_program.with_shapes(self, dict(shapes or {}, **kw))

    def compiled(self):
        """Arrays: the printed program compiled once: (function, forward names, adjoint names)."""
        return vector_program.compiled(self)

    def lines(self, comments=True):
        """Forward then backward statements, each with its ``# (n)`` comment."""
        if self.loops:
            fwd, back = rolled.statements(self, _NUMPY if self.arrays else _CODE, comments)
            return fwd + back
        if self.arrays:
            return vector_program.lines(self, comments)
        return printing.code_lines(self, comments=comments)

    def forward_code(self, comments=True) -> str:
        return vector_program.forward_code(self, comments)

    def backward_code(self, comments=True) -> str:
        return vector_program.backward_code(self, comments)

    def to_dict(self) -> dict:
        """JSON-ready: inputs, labels, shapes, forward and backward lines (and rolled loops)."""
        out = vector_program.to_dict(self)
        if self.loops:
            out["loops"] = [lp.to_dict() for lp in self.loops]
            out["code"] = self.lines(comments=False)
        return out

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
        if self.loops and not self.arrays:  # a short loop: the unrolled program's expression
            return self.unrolled("expr (one SymPy expression)").expr()
        if self.arrays:
            raise DeriveError("an array program is one expression per component: "
                              "derive.jacobians.symbolic_value(prog, arrays) writes it out")
        if self._expr is None:
            self._expr = _expression(self)
        return self._expr

    @property
    def grad_symbols(self) -> dict:
        """Input name -> adjoint Symbol (elements of list inputs keyed 'w[0]', ...)."""
        return {s.name: self.adjoints[s] for s in self.inputs if s in self.adjoints}

    # ---- printing ------------------------------------------------------------------------
    def to_python(self, name: str | None = None) -> str:
        """A runnable module: the imports and ``def name(...)`` returning (value, gradient).

        Arrays only with known shapes: the backward lines depend on them (``np.outer`` for a
        1-D ``x``, a sum over the axes a bias was broadcast along), so a shape-free array
        program refuses in one line."""
        if self.loops:
            return rolled.python(self, _NUMPY if self.arrays else _CODE, name or f"{self.name}_and_grad")
        if self.arrays:
            return vector_program.to_python(self, name)
        return codegen.python_function(self, name or "f_and_grad")

    def to_latex(self) -> str:
        if self.loops:
            return loop_printing.latex(self, self._printer())
        return vector_program.to_latex(self) if self.arrays else printing.latex_program(self)

    def to_markdown(self, result=None) -> str:
        if self.loops:
            return loop_printing.markdown(self, self._printer(), result)
        if self.arrays:
            return vector_program.to_markdown(self, result)
        return printing.markdown_program(self, result)

    def to_text(self, result=None) -> str:
        if self.loops:
            return rolled.text(self, _NUMPY if self.arrays else _CODE, result)
        return vector_program.to_text(self, result) if self.arrays else printing.text_program(self, result)

    def circuit(self, exact: bool = True, **values):
        """The CS231n circuit diagram, with values and gradients when given a point (arrays:
        wires labelled with the shapes of the values given)."""
        if self.loops:  # a short loop unrolled, a long one drawn as a loop box
            return loop_circuit(self, exact, **values)
        if self.arrays:
            return draw_circuit(self, **values)
        return draw_circuit(self, self.run(exact=exact, **values) if values else None)

    def _printer(self):
        return _NUMPY if self.arrays else _CODE

    def _flat(self, what):
        if self.loops:
            lp = self.loops[0]
            raise DeriveError(f"{what} reads straight-line programs; this one has a rolled loop (line "
                              f"{lp.lineno}): stage it with unroll=True (--unroll) for {what}")

    def __str__(self):
        return self.to_text()

    def __repr__(self):
        args = ", ".join(p if n is None else f"{p}[{n}]" for p, n in self.params)
        head = f"{self.name}({args})" if self.arrays else f"{self.output}({args})"
        return (f"<Program {head}: {len(self.forward)} forward lines, "
                f"{len(self.backward)} backward lines, gates={self.gates}>")

    def _repr_html_(self):
        if self.loops:
            return loop_printing.html(self, self._printer())
        return vector_program.to_html(self) if self.arrays else printing.html_program(self)


#: The name older code imported for array programs: the same class.
ArrayProgram = Program


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
