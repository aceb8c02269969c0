"""Staging: graph -> forward lines (one gate each, named), and the reverse sweep -> backward lines.

``stage`` is the entry point for every input kind; scalar graphs are staged here
(``stage_graph``), NumPy functions by ``derive.staging.arrays``; both give a ``derive.staging.program.Program``
whose lines hold SymPy expressions (and array gates as structured calls), so one program
prints as Python, LaTeX or Markdown (``derive.printing.printers``), evaluates numerically
(``derive.staging.evaluate``) and can be compared with ``sympy.diff`` (``derive.check``). Both
passes are single loops over the lines: no recursion, linear in the number of stages.
"""
from __future__ import annotations

import inspect

import numpy as np
import sympy as sp

from derive.core import naming
from derive.core.errors import DeriveError
from derive.core.naming import symbol
from derive.frontend.parse import Graph, Node, parse_expression, parse_sympy
from derive.staging.program import BackLine, Line, Program, seed_line  # noqa: F401 (API)
from derive.frontend.reader import parse_callable, parse_function
from derive.core.rules import RULES, local_gradient
from derive.staging.arrays import restrict, stage_arrays
from derive.frontend.arrays import uses_arrays
from derive.staging.loops import Control
from derive.staging import restage, rolled


def stage(f, gates: str = "grouped", inputs=None, shapes=None, constants=None, output=None,
          unroll: bool = False, at=None, wrt=None) -> Program:
    """Stage an expression string, a SymPy expression, or a Python function.

    A function over NumPy arrays (it uses ``@``, ``.T``, ``np.sum``, ...), or any function
    given with ``shapes={...}``, is staged by the array engine (``derive.staging.arrays``).
    ``unroll=True`` reads ``for`` loops once per iteration (their trip counts from constants,
    ``constants=`` or the shapes); ``at={...}`` is a point at which conditions on the data
    (``if margin > 0:``, ``while``) are taken, the program then being that of the branches
    taken there (``derive.frontend.loops``). ``wrt=["W1", "b1", ...]`` (arrays) differentiates
    only those inputs: data such as ``X`` gets no adjoint lines.

    >>> prog = stage("(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)")
    >>> prog.run(x=3, y=-4, exact=True).grad["x"]
    2.059569795572165
    """
    if wrt is not None:
        return restage.keep(restrict(stage(f, gates, inputs, shapes, constants, output, unroll, at), wrt),
                            stage, f, gates, inputs, shapes, constants, output, True, at, wrt)
    if isinstance(f, Program):
        return f.with_shapes(shapes) if shapes is not None and f.arrays else f
    if at is not None and not (isinstance(at, dict) and all(isinstance(k, str) for k in at)):
        raise DeriveError("at= is a point: a dict from parameter names to values, like {'x': 1.5}")
    control = Control(unroll, at, shapes)
    is_def = inspect.isfunction(f) or isinstance(f, str) and "def " in f
    arrays_at = at is not None and any(np.ndim(v) for v in at.values() if not isinstance(v, (list, tuple)))
    if shapes is not None or constants is not None or arrays_at and is_def or is_def and uses_arrays(f):
        if shapes is None and at is not None:
            shapes = {k: np.shape(v) for k, v in control.point.items()}
        return restage.keep(stage_arrays(f, gates, shapes, constants=constants, output=output, control=control),
                            stage, f, gates, inputs, shapes, constants, output, True, at)
    if isinstance(f, str):
        text = f.strip()
        if text.startswith("def ") or "\ndef " in text or "\n" in text and "return" in text:
            g = parse_function(text, None, gates, output, control)
            source = text
        else:
            g = parse_expression(text, gates)
            source = text
    elif isinstance(f, sp.Basic):
        g = parse_sympy(f, gates, inputs)
        source = str(f)
    elif inspect.isfunction(f):
        g = parse_callable(f, gates, output, control)
        source = f.__name__
    else:
        raise DeriveError(f"cannot stage a {type(f).__name__}: pass an expression string, "
                          "a SymPy expression or a Python function")
    return restage.keep(stage_graph(g, source), stage, f, gates, inputs, shapes, constants, output, True, at)


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
    loops = getattr(g, "loops", [])
    in_loop = {id(n) for lp in loops for n in lp["body"] + lp["entries"]}
    if out.is_input or out.is_const or id(out) in in_loop:  # f = x: one identity line to stage
        out = Node("id", (out,), index=len(g.nodes))
        g.nodes.append(out)
    live = _reachable([out])
    named = [n for n in g.nodes if n.user_name and not n.is_input and not n.is_const]
    keep = _reachable([out] + named)
    nodes = [n for n in g.nodes if id(n) in keep and not n.is_input and not n.is_const]
    input_nodes = list(g.inputs.values())
    indices = [lp["index"] for lp in loops if lp["index"] not in input_nodes]  # loop variables
    names = naming.assign_names(input_nodes + indices + nodes, out, [str(n.value) for n in input_nodes + indices])

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
                            user=bool(n.user_name), used=id(n) in live, source_line=n.lineno, label=n.label))
        line_of[id(n)] = k
    inputs = [sym(n) for n in input_nodes]
    taken = set(names.values())
    adjoints = {}
    for n in input_nodes + indices + nodes:
        s = sym(n)
        adjoints[s] = symbol(naming.adjoint_name(s.name, taken))
        taken.add(adjoints[s].name)

    uses = {}
    for n in nodes:
        if id(n) in live:
            for a in n.args:
                uses[id(a)] = uses.get(id(a), 0) + 1
    out_sym = sym(out)
    backward, written = [seed_line(adjoints[out_sym], out_sym, line_of[id(out)])], set()
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
    prog = Program(inputs, params, forward, backward, out_sym, adjoints, g.gates, source)
    prog.graph_notes = g.notes  # what reading resolved (data branches taken at a point, loops)
    if loops:
        prog.loops, prog.backward = rolled.build(g, prog, line_of, sym)
    return prog
