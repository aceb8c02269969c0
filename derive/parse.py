"""Text, SymPy expressions and Python functions -> one expression graph; the safety whitelist.

Expression strings and function sources are parsed with Python's ``ast`` and walked with an
explicit stack; only whitelisted node types and the rule table's function names are
accepted. Nothing the user writes is ever evaluated (no ``eval``, ``sympify``, ``parse_expr``,
``import``).

The graph hash-conses nodes, so an identical subexpression is one node (forks show up), and
applies the user's gate granularity: in ``grouped`` mode a spelled-out sigmoid
``1 / (1 + exp(-t))`` folds into one gate; in ``primitive`` mode grouped gates expand into
elementary ones (CS231n's negate, exp, add a constant, 1/x).
"""
from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from dataclasses import dataclass, field

import sympy as sp

from derive.errors import DeriveError
from derive.naming import symbol
from derive.rules import ARRAY_RULES, BINOPS, CALL_NAMES, FUNCTIONS, RULES, apply
from derive.sympy_graph import sympy_to_graph

GATES = ("grouped", "primitive")
MAX_TEXT = 200_000

_CONSTRUCTS = {
    "For": "a for loop", "AsyncFor": "a for loop", "While": "a while loop", "If": "an if statement",
    "IfExp": "a conditional expression", "With": "a with block", "Try": "a try block",
    "Import": "an import", "ImportFrom": "an import", "FunctionDef": "a nested function",
    "ClassDef": "a class", "Lambda": "a lambda", "Attribute": "attribute access",
    "Compare": "a comparison", "BoolOp": "a boolean operator", "ListComp": "a comprehension",
    "GeneratorExp": "a comprehension", "DictComp": "a comprehension", "SetComp": "a comprehension",
    "List": "a list", "Tuple": "a tuple", "Dict": "a dict", "Set": "a set", "Subscript": "indexing",
    "Starred": "star arguments", "Global": "global", "Nonlocal": "nonlocal", "Delete": "del",
    "Raise": "raise", "Assert": "assert", "Yield": "yield", "Await": "await", "NamedExpr": ":=",
    "JoinedStr": "an f-string", "MatMult": "matrix multiplication (@)", "FloorDiv": "//",
    "Mod": "%", "BitAnd": "&", "BitOr": "|", "BitXor": "^", "LShift": "<<", "RShift": ">>",
    "Invert": "~", "Not": "not", "Match": "match", "Break": "break", "Continue": "continue",
    "Call": "this call",
}


@dataclass(eq=False)
class Node:
    """One value in the graph: an input, a constant, or a gate applied to other nodes."""

    op: str                      # rule name, "input" or "const"
    args: tuple = ()
    value: sp.Expr | None = None  # constants: the number; inputs: the Symbol
    index: int = 0               # creation order (a topological order)
    user_name: str | None = None  # the name the user gave it (Python function input)
    lineno: int | None = None    # source line that created it
    opts: tuple = ()             # an array gate's options ((("axis", 1), ("keepdims", True))

    def opt(self, key, default=None):
        return dict(self.opts).get(key, default)

    @property
    def is_const(self):
        return self.op == "const"

    @property
    def is_input(self):
        return self.op == "input"


@dataclass
class Graph:
    """Hash-consed expression graph built by the readers, for scalars and arrays alike: nodes are
    rows of ``RULES`` (elementwise on arrays) or of ``ARRAY_RULES`` (with options)."""

    gates: str = "grouped"
    nodes: list = field(default_factory=list)
    inputs: dict = field(default_factory=dict)   # symbol name -> input Node
    params: list = field(default_factory=list)   # [(name, length or None)]
    output: Node | None = None
    _memo: dict = field(default_factory=dict)
    lineno: int | None = None
    recognize: bool = True  # fold spelled-out grouped gates (off while building the patterns)
    name: str = ""          # the function's name
    body_template: object = None  # (graph, function body text, args) -> node: array expansions

    def __post_init__(self):
        if self.gates not in GATES:
            raise DeriveError(f"unknown gate granularity '{self.gates}'; use one of: {', '.join(GATES)}")

    def new(self, op, args=(), value=None, opts=()):
        key = (op, tuple(id(a) for a in args), value if op != "input" else str(value), opts)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        node = Node(op, tuple(args), value, len(self.nodes), lineno=self.lineno, opts=opts)
        self.nodes.append(node)
        self._memo[key] = node
        return node

    _new = new

    def input(self, name: str) -> Node:
        if name not in self.inputs:
            self.inputs[name] = self._new("input", value=symbol(name))
        return self.inputs[name]

    def const(self, value) -> Node:
        value = sp.sympify(value) if not isinstance(value, sp.Basic) else value
        if value.has(sp.zoo, sp.oo, sp.nan, sp.S.NegativeInfinity) or value.is_real is False:
            raise DeriveError(f"constant {value} is not a finite real number")
        return self._new("const", value=value)

    def op(self, name: str, *args: Node, opts=()) -> Node:
        if name in ARRAY_RULES:
            rule = ARRAY_RULES[name]
            if rule.expand and self.gates == "primitive":  # softmax_cross_entropy in primitive gates
                return self.body_template(self, rule.expand, args)
            return self.new(name, args, opts=opts)
        rule = RULES[name]
        if len(args) != rule.arity:
            raise DeriveError(f"{name} takes {rule.arity} argument{'s' * (rule.arity > 1)}, got {len(args)}")
        if all(a.is_const for a in args):
            return self._fold(name, args)
        if rule.expand and (rule.sugar or self.gates == "primitive") and not any(a.is_const for a in args):
            return self._template(rule.expand, args)
        node = self._new(name, args)
        if self.gates == "grouped" and self.recognize:
            for other in RULES.values():
                if other.recognize:
                    hit = _match(node, _pattern(other.expand), {})
                    if hit is not None:
                        return self.op(other.name, hit["a"])
        return node

    def _fold(self, name, args):
        vals = [a.value for a in args]
        if name == "pow" and (abs(float(vals[1])) > 256 or abs(float(vals[0])) > 1e6):
            raise DeriveError(f"constant power {vals[0]}**{vals[1]} is too large to fold")
        if name == "div" and vals[1] == 0:
            raise DeriveError("division by zero in a constant")
        try:
            return self.const(apply(name, *vals))
        except (ZeroDivisionError, OverflowError, ValueError, TypeError) as err:
            raise DeriveError(f"constant {name}{tuple(vals)} cannot be computed: {err}") from None

    def _template(self, text, args):
        env = dict(zip("ab", args))
        return _ExprBuilder(self, lambda n: env[n], strict=True).build(ast.parse(text, mode="eval").body)


_PATTERNS: dict = {}


def _pattern(text):
    """A rule's expansion as a nested tuple pattern (op, children) with leaves 'a'/'b'/number."""
    if text not in _PATTERNS:
        g = Graph("grouped", recognize=False)
        root = _ExprBuilder(g, g.input, strict=True).build(
            ast.parse(text, mode="eval").body)

        def conv(n):
            if n.is_input:
                return str(n.value)
            if n.is_const:
                return n.value
            return (n.op, tuple(conv(a) for a in n.args))

        _PATTERNS[text] = conv(root)
    return _PATTERNS[text]


def _match(node, pat, env):
    if isinstance(pat, str):
        if pat in env and env[pat] is not node:
            return None
        return {**env, pat: node}
    if isinstance(pat, sp.Basic):
        return env if node.is_const and node.value.is_Number and float(node.value) == float(pat) else None
    op, kids = pat
    if node.op != op or len(node.args) != len(kids):
        return None
    orders = [node.args, node.args[::-1]] if op in ("add", "mul") else [node.args]
    for args in orders:
        out = env
        for a, k in zip(args, kids):
            out = _match(a, k, out)
            if out is None:
                break
        if out is not None:
            return out
    return None


class _ExprBuilder:
    """Walks one Python expression AST (iteratively) and builds graph nodes."""

    def __init__(self, graph, lookup, strict, subscript=None):
        self.g, self.lookup, self.strict, self.subscript = graph, lookup, strict, subscript

    def fail(self, what, node):
        line = getattr(node, "lineno", None)
        where = f" at line {line}" if line and not self.strict else ""
        raise DeriveError(f"unsupported construct: {what}{where}")

    def build(self, root):
        stack, done = [(root, False)], {}
        while stack:
            node, visited = stack.pop()
            if id(node) in done:
                continue
            if not visited:
                self._precheck(node)
            kids = self._children(node)
            if not visited and kids:
                stack.append((node, True))
                stack.extend((k, False) for k in reversed(kids))
                continue
            done[id(node)] = self._make(node, [done[id(k)] for k in kids])
        return done[id(root)]

    def _precheck(self, n):
        """Reject an unknown function before looking at its arguments."""
        if isinstance(n, ast.Call):
            fname = _dotted(n.func)
            if fname not in CALL_NAMES and (self.strict or fname not in _BUILTINS):
                known = ", ".join(FUNCTIONS)
                where = f" at line {n.lineno}" if not self.strict else ""
                raise DeriveError(f"unknown function '{fname}'{where}; known functions: {known}")

    def _children(self, n):
        if isinstance(n, ast.BinOp):
            return [n.left, n.right]
        if isinstance(n, ast.UnaryOp):
            return [n.operand]
        if isinstance(n, ast.Call):
            return list(n.args)
        return []

    def _make(self, n, kids):
        g = self.g
        if isinstance(n, ast.Constant):
            v = number(n, self.fail)
            return g.const(sp.Integer(v) if isinstance(v, int) else sp.Float(v))
        if isinstance(n, ast.Name):
            if n.id in CALL_NAMES and self.strict:
                raise DeriveError(f"'{n.id}' is a function: call it as {n.id}(...)")
            return self.lookup(n.id)
        if isinstance(n, ast.BinOp):
            op = BINOPS.get(type(n.op).__name__)
            if op is None:
                self.fail(f"the operator {_CONSTRUCTS.get(type(n.op).__name__, type(n.op).__name__)}", n)
            return g.op(op, *kids)
        if isinstance(n, ast.UnaryOp):
            if isinstance(n.op, ast.UAdd):
                return kids[0]
            if not isinstance(n.op, ast.USub):
                self.fail(_CONSTRUCTS.get(type(n.op).__name__, "this operator"), n)
            a = kids[0]
            return g.const(-a.value) if a.is_const else g.op("neg", a)
        if isinstance(n, ast.Call):
            fname = _dotted(n.func)
            if n.keywords or any(isinstance(a, ast.Starred) for a in n.args):
                self.fail(f"keyword or star arguments in {fname}()", n)
            rule = CALL_NAMES.get(fname) or (_BUILTINS.get(fname) if not self.strict else None)
            if rule is None:
                known = ", ".join(FUNCTIONS)
                where = f" at line {n.lineno}" if not self.strict else ""
                raise DeriveError(f"unknown function '{fname}'{where}; known functions: {known}")
            arity = RULES[rule].arity
            if len(kids) != arity:
                raise DeriveError(f"{fname}() takes {arity} argument{'s' * (arity > 1)}, got {len(kids)}")
            return g.op(rule, *kids)
        if isinstance(n, ast.Subscript) and self.subscript:
            return self.subscript(n)
        name = type(n).__name__
        if isinstance(n, ast.Attribute):
            self.fail(f"attribute access '{_dotted(n)}'", n)
        self.fail(_CONSTRUCTS.get(name, name), n)


_BUILTINS = {"abs": "abs", "max": "max", "min": "min"}


def number(n: ast.Constant, fail):
    """The value of a numeric literal; ``fail(what, node)`` for anything else."""
    v = n.value
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        fail(f"the constant {v!r}", n)
    if isinstance(v, float) and (v != v or abs(v) == float("inf")):
        line = getattr(n, "lineno", None)
        raise DeriveError(f"number {v!r} is not finite" + (f" (line {line})" if line else ""))
    return v


def _dotted(n):
    orig, parts = n, []
    while isinstance(n, ast.Attribute):
        parts.append(n.attr)
        n = n.value
    if isinstance(n, ast.Name):
        parts.append(n.id)
        return ".".join(reversed(parts))
    return ast.unparse(orig)[:60]


def _ast_parse(text, mode):
    """``ast.parse`` with room for long chains (CPython builds the tree recursively)."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 250_000))
    try:
        return ast.parse(text, mode=mode)
    finally:
        sys.setrecursionlimit(old)


def _syntax(text, mode, err):
    line = f" at line {err.lineno}" if err.lineno and mode == "exec" else ""
    return DeriveError(f"syntax error{line}: {err.msg}")


def parse_expression(text: str, gates: str = "grouped") -> Graph:
    """Parse an expression string of the grammar into a graph (inputs in order of appearance)."""
    if not isinstance(text, str):
        raise DeriveError("expected an expression string")
    if len(text) > MAX_TEXT:
        raise DeriveError(f"expression is too long ({len(text)} characters; the limit is {MAX_TEXT})")
    if not text.strip():
        raise DeriveError("empty expression")
    try:
        tree = _ast_parse(text.strip(), "eval")
    except SyntaxError as err:
        raise _syntax(text, "eval", err) from None
    except (RecursionError, MemoryError):
        raise DeriveError("expression is nested too deeply") from None
    g = Graph(gates)
    g.output = _ExprBuilder(g, g.input, strict=True).build(tree.body)
    return g


def parse_sympy(expr, gates: str = "grouped", inputs=None) -> Graph:
    """Turn a SymPy expression into a graph, undoing SymPy's normal form (a - b, not a + (-1)*b)."""
    return sympy_to_graph(expr, Graph(gates), inputs)


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
