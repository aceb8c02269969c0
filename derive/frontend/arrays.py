"""Straight-line NumPy functions -> an array expression graph (ast whitelist, never eval).

The array counterpart of ``derive.frontend.parse``: the same statements (assignments, ``+=``, one
``return``), plus ``@``, ``.T``, ``X.shape[k]``/``len(X)``, and the NumPy calls of the rule
table's array section (``np.sum``/``np.mean`` with ``axis=``/``keepdims=``, ``np.dot``,
``np.linalg.norm``, ``softmax_cross_entropy``, ``onehot``) and its elementwise rows
(``np.tanh``, ``np.maximum(h, 0)`` as relu, ...). Anything else gets a one-line error naming
the call or construct and its line.
"""
from __future__ import annotations

import ast
import inspect
import textwrap

from derive.core.errors import DeriveError
from derive.frontend.parse import _BUILTINS, _CONSTRUCTS, Graph, _dotted, _syntax, number
from derive.frontend.reader import BodyReader
from derive.core.rules import ARRAY_CALLS, ARRAY_RULES, BINOPS, CALL_NAMES, RULES



def uses_arrays(f) -> bool:
    """Does this function (object or ``def`` source text) use array operations (``@``, ``.T``,
    ``X.shape``, ``np.sum``, ...)? Used by ``derive.stage`` to pick the array engine."""
    try:
        text = f if isinstance(f, str) else textwrap.dedent(inspect.getsource(f))
        tree = ast.parse(textwrap.dedent(text))
    except (OSError, TypeError, SyntaxError, RecursionError, MemoryError):
        return False
    for n in ast.walk(tree):
        if isinstance(n, (ast.BinOp, ast.AugAssign)) and isinstance(n.op, ast.MatMult):
            return True
        if isinstance(n, ast.Attribute) and n.attr in ("T", "shape"):
            return True
        if isinstance(n, ast.Call) and _dotted(n.func) in ARRAY_CALLS:
            return True
    return False


def parse_array_function(f, gates="grouped") -> Graph:
    """Read a Python function (object or source text) over NumPy arrays into a graph."""
    name = None
    if not isinstance(f, str):
        if getattr(f, "__name__", "") == "<lambda>":
            raise DeriveError("lambdas are not supported: write the function with def")
        try:
            f, name = textwrap.dedent(inspect.getsource(f)), f.__name__
        except (OSError, TypeError):
            raise DeriveError(f"cannot read the source of {f!r}; pass its source text instead") from None
    try:
        tree = ast.parse(textwrap.dedent(f))
    except SyntaxError as err:
        raise _syntax(f, "exec", err) from None
    except (RecursionError, MemoryError):
        raise DeriveError("source is nested too deeply") from None
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and name in (None, n.name)]
    if not defs:
        raise DeriveError(f"no function named '{name}' in the source" if name else "no function definition found")
    fn = defs[-1]
    a = fn.args
    if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs or a.defaults:
        raise DeriveError(f"function '{fn.name}': use plain positional parameters only")
    g = Graph(gates, recognize=False, name=fn.name, body_template=_Reader.expand)
    g.params = [(p.arg, None) for p in a.args]
    env = {p: g.input(p) for p, _ in g.params}
    g.output = _Reader(g, env).statements(fn.body, fn.name)
    return g


_COMPARE = {"Gt": "greater", "Lt": "less", "GtE": "greater_equal", "LtE": "less_equal"}


class _Reader(BodyReader):
    """An array function: the shared statement reader (``derive.frontend.reader.BodyReader``) with
    array expressions (``@``, ``.T``, ``X.shape[k]``, NumPy calls)."""

    def __init__(self, g, env, user=True):
        self.g, self.env, self.user = g, env, user

    @classmethod
    def expand(cls, g, text, args):
        """Build a template function body (a = args[0], b = args[1]) into the graph."""
        env = dict(zip("ab", args))
        lineno = g.lineno
        out = cls(g, env, user=False).statements(ast.parse(text).body, "expansion")
        g.lineno = lineno
        return out

    def at(self, st):
        if self.user:  # a template's lines keep the line of the user's call
            self.g.lineno = st.lineno

    def augmented(self, op):
        return "matmul" if isinstance(op, ast.MatMult) else BINOPS.get(type(op).__name__)

    def fail(self, what, node=None):
        line = getattr(node, "lineno", None) or self.g.lineno
        raise DeriveError(f"unsupported construct: {what} at line {line}")

    def bind(self, name, node):
        if node.op not in ("input", "const") and node.user_name is None:
            node.user_name = name
        self.env[name] = node

    def lookup(self, name, n):
        if name not in self.env:
            if name in CALL_NAMES or name in ARRAY_CALLS:
                raise DeriveError(f"'{name}' is a function: call it as {name}(...) (line {n.lineno})")
            raise DeriveError(f"undefined name '{name}' at line {n.lineno}")
        return self.env[name]

    def expr(self, n):
        g = self.g
        if isinstance(n, ast.Constant):
            return g.const(number(n, self.fail))
        if isinstance(n, ast.Name):
            return self.lookup(n.id, n)
        if isinstance(n, ast.BinOp):
            op = "matmul" if isinstance(n.op, ast.MatMult) else BINOPS.get(type(n.op).__name__)
            if op is None:
                self.fail(f"the operator {_CONSTRUCTS.get(type(n.op).__name__, type(n.op).__name__)}", n)
            return g.op(op, self.expr(n.left), self.expr(n.right))
        if isinstance(n, ast.UnaryOp):
            a = self.expr(n.operand)
            if isinstance(n.op, ast.UAdd):
                return a
            if not isinstance(n.op, ast.USub):
                self.fail(_CONSTRUCTS.get(type(n.op).__name__, "this operator"), n)
            return g.op("neg", a)
        if isinstance(n, ast.Attribute):
            if n.attr == "T":
                return g.op("transpose", self.expr(n.value))
            self.fail(f"attribute access '{_dotted(n)}'", n)
        if isinstance(n, ast.Compare) and len(n.ops) == 1 and type(n.ops[0]).__name__ in _COMPARE:
            return g.op(_COMPARE[type(n.ops[0]).__name__], self.expr(n.left), self.expr(n.comparators[0]))
        if isinstance(n, ast.Subscript):
            if isinstance(n.value, ast.Attribute) and n.value.attr == "shape":
                k = n.slice
                if isinstance(k, ast.UnaryOp) and isinstance(k.op, ast.USub) and isinstance(k.operand, ast.Constant):
                    k = ast.Constant(-k.operand.value)
                if isinstance(k, ast.Constant) and isinstance(k.value, int) and not isinstance(k.value, bool):
                    return g.op("shape", self.expr(n.value.value), opts=(("axis", k.value),))
            return self.subscript(n)
        if isinstance(n, ast.Call):
            return self.call(n)
        self.fail(_CONSTRUCTS.get(type(n).__name__, type(n).__name__), n)

    def subscript(self, n):
        """``a[:, :H]``, ``x[0]``, ``W[x]``, ``x[np.arange(N), y]``: one ``index`` gate whose
        index arguments are nodes ({1}, {2}, ...); an index that is not a slice or an integer
        constant (an integer array) makes it advanced indexing (scattered back by np.add.at)."""
        base, args, advanced = self.expr(n.value), [], False
        parts = n.slice.elts if isinstance(n.slice, ast.Tuple) else [n.slice]

        def piece(e):
            if e is None:
                return ""
            k = e.operand if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub) else e
            if isinstance(k, ast.Constant) and type(k.value) is int:
                return str(-k.value if k is not e else k.value)
            args.append(self.expr(e))
            return "{%d}" % len(args)
        texts = []
        for p in parts:
            if isinstance(p, ast.Slice):
                if p.step is not None:
                    self.fail("a slice with a step (write a[lo:hi])", n)
                texts.append(f"{piece(p.lower)}:{piece(p.upper)}")
            else:
                text = piece(p)  # an integer array may repeat (np.add.at); a mask may not (+=)
                advanced = advanced or text.startswith("{") and not getattr(ARRAY_RULES.get(args[-1].op), "mask", False)
                texts.append(text)
        if len(args) > ARRAY_RULES["index"].arity - 1:
            self.fail("indexing with more than four index arrays", n)
        return self.g.op("index", base, *args, opts=(("subscript", ", ".join(texts)), ("advanced", advanced)))

    def call(self, n):
        g, fname = self.g, _dotted(n.func)
        base = n.func
        while isinstance(base, ast.Attribute):
            base = base.value
        if isinstance(n.func, ast.Attribute) and (not isinstance(base, ast.Name) or base.id in self.env):
            self.fail(f"the method call {ast.unparse(n.func)}() (write it as np.{n.func.attr}(...))", n)
        if any(isinstance(a, ast.Starred) for a in n.args):
            self.fail(f"star arguments in {fname}()", n)
        if fname == "len" and len(n.args) == 1 and not n.keywords:
            return g.op("shape", self.expr(n.args[0]), opts=(("axis", 0),))
        rule = ARRAY_CALLS.get(fname)
        if rule is None and (fname.startswith(("np.", "numpy.", "derive.")) or "." not in fname):
            rule = CALL_NAMES.get(fname)
            if fname in _BUILTINS:
                rule = None
        if rule is None:
            known = ", ".join(_supported())
            kind = "NumPy call" if fname.startswith(("np.", "numpy.")) else "function"
            raise DeriveError(f"unsupported {kind} '{fname}' at line {n.lineno}; supported: {known}")
        args = [self.expr(a) for a in n.args]
        opts = self.options(n, rule, fname, args)
        arity = ARRAY_RULES[rule].arity if rule in ARRAY_RULES else RULES[rule].arity
        if len(args) != arity:
            raise DeriveError(f"{fname}() takes {arity} argument{'s' * (arity > 1)}, got {len(args)} "
                              f"(line {n.lineno})")
        if rule == "max" and args[1].is_const and args[1].value == 0:
            return g.op("relu", args[0])
        if rule == "max" and args[0].is_const and args[0].value == 0:
            return g.op("relu", args[1])
        return g.op(rule, *args, opts=opts)

    def options(self, n, rule, fname, args):
        allowed = ARRAY_RULES[rule].options if rule in ARRAY_RULES else ()
        given = {}
        if allowed and len(args) == 2 and args[1].is_const:  # np.sum(x, 0)
            given["axis"] = ast.Constant(int(args.pop().value))
        for kw in n.keywords:
            if kw.arg not in allowed:
                self.fail(f"the keyword argument {kw.arg}= in {fname}()", n)
            given[kw.arg] = kw.value
        opts = []
        for key in allowed:
            v = given.get(key)
            if v is None:
                continue
            if isinstance(v, ast.UnaryOp) and isinstance(v.op, ast.USub) and isinstance(v.operand, ast.Constant):
                v = ast.Constant(-v.operand.value)
            ok = isinstance(v, ast.Constant) and (isinstance(v.value, bool) if key == "keepdims"
                                                   else type(v.value) is int)
            if not ok:
                self.fail(f"{key}= in {fname}() must be {'True or False' if key == 'keepdims' else 'one integer'}", n)
            if v.value is not False:
                opts.append((key, v.value))
        return tuple(opts)


def _supported() -> list:
    """The calls an array function may make: NumPy spellings, then derive's own names."""
    numpy = sorted(a for a in list(ARRAY_CALLS) + list(CALL_NAMES) if a.startswith("np."))
    ours = [n for n, r in RULES.items() if r.called and not any(a.startswith("np.") for a in r.aliases)
            and n not in _BUILTINS]
    return numpy + ours + [c for r in ARRAY_RULES.values() for c in r.calls if "." not in c]
