"""Expression strings and SymPy expressions -> the one expression graph; the safety whitelist.

Expression strings and function sources are parsed with Python's ``ast`` and walked with an
explicit stack; only whitelisted node types and the rule table's function names are
accepted. Nothing the user writes is ever evaluated (no ``eval``, ``sympify``, ``parse_expr``,
``import``).

Python function bodies are read by ``derive.frontend.reader`` into the same graph.

The graph hash-conses nodes, so an identical subexpression is one node (forks show up), and
applies the user's gate granularity: in ``grouped`` mode a spelled-out sigmoid
``1 / (1 + exp(-t))`` folds into one gate; in ``primitive`` mode grouped gates expand into
elementary ones (CS231n's negate, exp, add a constant, 1/x).
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field

import sympy as sp

from derive.core.errors import DeriveError
from derive.core.naming import symbol
from derive.core.rules import ARRAY_RULES, BINOPS, CALL_NAMES, FUNCTIONS, RULES, apply
from derive.frontend.sympy_graph import sympy_to_graph

GATES = ("grouped", "primitive")
MAX_TEXT = 200_000
#: Gates, inputs and constants in one function. Every command stays linear in this size, and at
#: this size the slowest (``stage --at``, ``compare``) still answers within seconds.
MAX_NODES = 10_000
MAX_EXACT_OPS = 8  # a folded constant larger than this (sqrt(2) + exp(3) + ...) becomes a Float

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
    label: str = ""              # the helper function whose (inlined) line made it

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
    notes: list = field(default_factory=list)  # what staging resolved or left out (branches, writes)
    label: str = ""         # the helper being inlined while nodes are made
    handwritten: dict = field(default_factory=dict)  # parameter -> the learner's own gradient node

    def __post_init__(self):
        if self.gates not in GATES:
            raise DeriveError(f"unknown gate granularity '{self.gates}'; use one of: {', '.join(GATES)}")

    def new(self, op, args=(), value=None, opts=()):
        key = (op, tuple(id(a) for a in args), value if op != "input" else str(value), opts)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        if len(self.nodes) >= MAX_NODES:
            raise DeriveError(f"too large: more than {MAX_NODES:,} gates, inputs and constants in one "
                              "function (derive's limit, which keeps every command within seconds); "
                              "stage a smaller instance")
        node = Node(op, tuple(args), value, len(self.nodes), lineno=self.lineno, opts=opts, label=self.label)
        self.nodes.append(node)
        self._memo[key] = node
        return node

    _new = new

    def input(self, name: str) -> Node:
        if name not in self.inputs:
            self.inputs[name] = self._new("input", value=symbol(name))
        return self.inputs[name]

    def const(self, value, what=None) -> Node:
        value = sp.sympify(value) if not isinstance(value, sp.Basic) else value
        _check_constant(value, what)
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
        what = _spell(name, vals)
        try:
            value = apply(name, *vals)
        except (ZeroDivisionError, OverflowError, ValueError, TypeError, ArithmeticError) as err:
            raise DeriveError(f"constant {what} cannot be computed: {err}") from None
        if not value.is_Number and sp.count_ops(value) > MAX_EXACT_OPS:  # exp(1) + exp(2) + ...
            _check_constant(value, what)
            value = value.evalf(17)  # a number: folding a long chain stays linear
        return self.const(value, what)

    def _template(self, text, args):
        env = dict(zip("ab", args))
        return _ExprBuilder(self, lambda n: env[n], strict=True).build(ast.parse(text, mode="eval").body)


_INFIX_SPELLING = {"add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0}*{1}", "div": "{0}/{1}",
                   "pow": "({0})**{1}", "neg": "-{0}", "id": "{0}"}


def _show(v) -> str:
    """A constant, short: 2, 0.5, 1.2e+154 (never its full expansion)."""
    if v.is_Integer and abs(v) < 10**12:
        return str(v)
    try:
        return f"{float(v):.6g}"
    except (TypeError, ValueError, OverflowError):
        return "(a complex number)"


def _spell(name, vals) -> str:
    """How a folded constant reads in a message: exp(1e+308), (-0.8)**2.71828."""
    args = [_show(v) for v in vals]
    return _INFIX_SPELLING[name].format(*args) if name in _INFIX_SPELLING else f"{name}({', '.join(args)})"


def _check_constant(value, what=None):
    """A constant must be a real number that float64 can hold (what every evaluation uses)."""
    what = what or _show(value)
    if value.has(sp.zoo, sp.oo, sp.nan, sp.S.NegativeInfinity):
        raise DeriveError(f"constant {what} is not a finite real number")
    if value.is_Rational or value.is_Float:
        num = value
    else:
        try:
            num = value.evalf(20)
        except (ArithmeticError, ValueError, TypeError, RecursionError):
            raise DeriveError(f"constant {what} cannot be computed") from None
    if value.is_real is False or not num.is_Number:
        raise DeriveError(f"constant {what} is not a finite real number (its value is complex)")
    if abs(num) > sys.float_info.max:
        raise DeriveError(f"constant {what} overflows: it is larger than the largest float64 "
                          f"(about 1.8e308)")


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
            fname = _method(n, self.strict) or _dotted(n.func)
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
            return ([n.func.value] if _method(n, self.strict) else []) + list(n.args)
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
            fname = _method(n, self.strict) or _dotted(n.func)
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
_MODULES = ("math", "np", "numpy", "derive")


def _method(n: ast.Call, strict) -> str | None:
    """micrograd's ``z.relu()``, ``a.exp()``: the row's method spelling (``.relu``), or None.
    The receiver is the gate's first argument (a value, not a module such as ``math``)."""
    f = n.func
    if strict or not isinstance(f, ast.Attribute) or _dotted(f) in CALL_NAMES:
        return None
    if isinstance(f.value, ast.Name) and f.value.id in _MODULES:
        return None
    return "." + f.attr if "." + f.attr in CALL_NAMES else None


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
