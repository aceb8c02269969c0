"""The one reader of Python function bodies, for scalars and arrays: statements -> graph nodes.

``BodyReader`` walks a ``def``'s statements (assignments as static single assignment, ``+=``,
``pass``, one ``return``); ``_FunctionReader`` reads scalar functions with it (numbers, lists
indexed by constants) and ``derive.frontend.arrays`` reads NumPy functions with it. Source text
is parsed with ``ast``, never executed; a function object is read through its source.
"""
from __future__ import annotations

import ast
import inspect
import textwrap

from derive.core.errors import DeriveError
from derive.frontend.parse import _CONSTRUCTS, Graph, _ast_parse, _ExprBuilder, _syntax
from derive.core.rules import BINOPS


def parse_function(source: str, name: str | None = None, gates: str = "grouped") -> Graph:
    """Parse a straight-line Python function (from its source text) into a graph."""
    try:
        tree = _ast_parse(source, "exec")
    except SyntaxError as err:
        raise _syntax(source, "exec", err) from None
    except (RecursionError, MemoryError):
        raise DeriveError("source is nested too deeply") from None
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if name is not None:
        defs = [d for d in defs if d.name == name]
        if not defs:
            raise DeriveError(f"no function named '{name}' in the file")
    if not defs:
        raise DeriveError("no function definition found")
    return _FunctionReader(defs[-1], Graph(gates)).read()


def parse_callable(func, gates: str = "grouped") -> Graph:
    """Parse a Python function object by reading its source (it is never called)."""
    if getattr(func, "__name__", "") == "<lambda>":
        raise DeriveError("lambdas are not supported: write the function with def")
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        raise DeriveError(f"cannot read the source of {func!r}; pass its source text instead") from None
    return parse_function(source, func.__name__, gates)


class BodyReader:
    """The one reader of Python function bodies, for scalars and arrays alike.

    It walks the statements: assignments (a rebound name gets a new node: static single
    assignment), augmented assignments (``x += y`` is ``x = x + y``), ``pass`` and one final
    ``return``; anything else is an error naming the construct and its line. Subclasses say
    how an expression is built (``expr``), how names are looked up and bound, and which
    operators an augmented assignment may use (``augmented``)."""

    g = None

    def at(self, st):
        self.g.lineno = st.lineno

    def augmented(self, op) -> str | None:
        return BINOPS.get(type(op).__name__)

    def statements(self, stmts, fname):
        """Read ``stmts`` (a function body); the node the function returns."""
        if stmts and isinstance(stmts[0], ast.Expr) and isinstance(stmts[0].value, ast.Constant) \
                and isinstance(stmts[0].value.value, str):
            stmts = stmts[1:]  # the docstring
        for i, st in enumerate(stmts):
            self.at(st)
            if isinstance(st, ast.Return):
                if i != len(stmts) - 1:
                    raise DeriveError(f"code after return at line {stmts[i + 1].lineno}")
                if st.value is None:
                    raise DeriveError(f"return without a value at line {st.lineno}")
                if isinstance(st.value, ast.Tuple):
                    raise DeriveError(f"return one value, not a tuple, at line {st.lineno}")
                return self.expr(st.value)
            if isinstance(st, (ast.Assign, ast.AnnAssign)):
                targets = st.targets if isinstance(st, ast.Assign) else [st.target]
                if st.value is None:
                    continue
                for t in targets:
                    if not isinstance(t, ast.Name):
                        what = "tuple unpacking" if isinstance(t, ast.Tuple) else \
                            "assignment to " + _CONSTRUCTS.get(type(t).__name__, type(t).__name__)
                        raise DeriveError(f"unsupported construct: {what} at line {st.lineno}")
                value = self.expr(st.value)
                for t in targets:
                    self.bind(t.id, value)
            elif isinstance(st, ast.AugAssign):
                if not isinstance(st.target, ast.Name):
                    raise DeriveError(f"unsupported construct: augmented assignment to a non-name at line {st.lineno}")
                op = self.augmented(st.op)
                if op is None:
                    raise DeriveError(f"unsupported construct: the operator "
                                      f"{_CONSTRUCTS.get(type(st.op).__name__, '?')}= at line {st.lineno}")
                old = self.lookup(st.target.id, st)
                self.bind(st.target.id, self.g.op(op, old, self.expr(st.value)))
            elif not isinstance(st, ast.Pass):
                what = "an expression statement (its value is lost)" if isinstance(st, ast.Expr) \
                    else _CONSTRUCTS.get(type(st).__name__, type(st).__name__)
                raise DeriveError(f"unsupported construct: {what} at line {st.lineno}")
        raise DeriveError(f"function '{fname}' has no return statement")


class _FunctionReader(BodyReader):
    """A scalar function: parameters are numbers or lists indexed by constants (``w[0]``)."""

    def __init__(self, fn: ast.FunctionDef, graph: Graph):
        self.fn, self.g, self.env = fn, graph, {}
        args = fn.args
        if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
            raise DeriveError(f"function '{fn.name}': use plain positional parameters only")
        self.params = [a.arg for a in args.args]
        self.sizes = {p: None for p in self.params}
        self.scalar_used = set()
        self.builder = _ExprBuilder(graph, self._lookup, strict=False, subscript=self._subscript)

    def expr(self, node):
        return self.builder.build(node)

    def lookup(self, name, node):
        return self._lookup(name)

    def bind(self, name, node):
        self._bind(name, node)

    def read(self) -> Graph:
        g = self.g
        for p in self.params:
            self.env[p] = None  # bound lazily: scalar input or indexed list
        g.output = self.statements(list(self.fn.body), self.fn.name)
        for p in self.params:
            if self.sizes[p] is None:
                g.input(p)
        g.params = [(p, self.sizes[p]) for p in self.params]
        # inputs in parameter order, elements in index order
        order = []
        for p, n in g.params:
            order += [p] if n is None else [f"{p}[{i}]" for i in range(n)]
        g.inputs = {k: g.input(k) for k in order}
        return g

    def _bind(self, name, node):
        if node.is_input:  # g = x: a line of its own, so g's path stays visible (and its +=)
            node = self.g.op("id", node)
        if node.op not in ("input", "const") and node.user_name is None:
            node.user_name = name
        self.env[name] = node

    def _lookup(self, name):
        if name not in self.env:
            raise DeriveError(f"undefined name '{name}' at line {self.g.lineno}")
        node = self.env[name]
        if node is None:  # a parameter used as a scalar
            if self.sizes.get(name) is not None:
                raise DeriveError(f"parameter '{name}' is used both as a number and as a list (line {self.g.lineno})")
            self.scalar_used.add(name)
            return self.g.input(name)
        return node

    def _subscript(self, n: ast.Subscript):
        base = n.value
        idx = n.slice
        if not (isinstance(base, ast.Name) and base.id in self.params and self.env.get(base.id) is None
                and isinstance(idx, ast.Constant) and isinstance(idx.value, int) and not isinstance(idx.value, bool)
                and idx.value >= 0):
            raise DeriveError(f"unsupported construct: indexing (only a parameter by a constant index, "
                              f"like w[0]) at line {n.lineno}")
        if base.id in self.scalar_used:
            raise DeriveError(f"parameter '{base.id}' is used both as a number and as a list (line {n.lineno})")
        self.sizes[base.id] = max(self.sizes[base.id] or 0, idx.value + 1)
        return self.g.input(f"{base.id}[{idx.value}]")
