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
import copy
import inspect
import textwrap

from derive.frontend import filled, gathers, lists
from derive.frontend.config import NotStatic, Pack, Poison, Static, check_value, describe, static
from derive.core.errors import DeriveError
from derive.core.userfile import function_source
from derive.frontend.inline import Module
from derive.frontend.outputs import select_output
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
    module = None if isinstance(f, str) else Module.of(f)
    helpers = {d.name for d in tree.body if isinstance(d, ast.FunctionDef)}
    helpers |= {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                and module is not None and module.helper(n.func.id) is not None}
    for n in ast.walk(tree):
        if isinstance(n, (ast.BinOp, ast.AugAssign)) and isinstance(n.op, ast.MatMult):
            return True
        if isinstance(n, ast.Attribute) and n.attr in ("T", "shape"):
            return True
        if isinstance(n, ast.Call) and _dotted(n.func) in ARRAY_CALLS:
            return True
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and "." + n.func.attr in ARRAY_CALLS:
            return True  # x.sum(axis=0), w.dot(x)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in helpers:
            return True  # a helper function of the same source, inlined by the array reader
        if isinstance(n, ast.IfExp) and isinstance(n.test, ast.Compare):
            return True  # x if x > 0 else 0.0: a select (np.where), on numbers as 0-D arrays
    return False


def parse_array_function(f, gates="grouped", constants=None, output=None, name=None, path=None,
                         control=None) -> Graph:
    """Read a Python function (object or source text) over NumPy arrays into a graph.

    ``constants`` fixes configuration parameters (``{"bn_param": {"mode": "train"}}``);
    ``output`` names the returned value to differentiate (default: the first of a tuple);
    ``name`` picks the function in a text of several, whose other functions (and, with
    ``path``, the sibling modules it imports from) are helpers it may call."""
    module = None
    if not isinstance(f, str):
        if getattr(f, "__name__", "") == "<lambda>":
            raise DeriveError("lambdas are not supported: write the function with def")
        module = Module.of(f)
        f, name = function_source(f), f.__name__
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
    if module is None or fn.name not in module.defs:
        module = Module(f, path, tree)
    a = fn.args
    if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs:
        raise DeriveError(f"function '{fn.name}': use plain positional parameters only")
    g = Graph(gates, recognize=False, name=fn.name, body_template=_Reader.expand)
    g.control = control  # loops and data branches (derive.staging.loops.Control), or None
    names = [p.arg for p in a.args]
    constants = _constants(constants, names, fn, module)
    g.params = [(p, None) for p in names if p not in constants]
    env = {p: Static(constants[p]) if p in constants else g.input(p) for p in names}
    reader = _Reader(g, env)
    reader.module = module
    g.output = select_output(reader, reader.statements(fn.body, fn.name), output)
    return g


def _constants(constants, names, fn, module) -> dict:
    """``constants=`` checked against the function: parameters (or module constants) by name;
    parameters with defaults that are not given keep their defaults as configuration."""
    if constants is not None and not (isinstance(constants, dict) and all(isinstance(k, str) for k in constants)):
        raise DeriveError("constants= must be a dict from parameter names to values, like "
                          "{'bn_param': {'mode': 'train'}}")
    constants = copy.deepcopy(dict(constants or {}))  # the function's writes go into this copy
    for k, v in constants.items():
        check_value(k, v)
        if k not in names:
            if k in module.constants:
                module.constants[k] = Static(v)
                continue
            raise DeriveError(f"constants: {fn.name}() has no parameter {k!r}; its parameters are "
                              f"{', '.join(names)}")
    out = {k: v for k, v in constants.items() if k in names}
    defaults = fn.args.defaults
    for p, d in zip(names[len(names) - len(defaults):], defaults):
        if p not in out:
            try:
                out[p] = ast.literal_eval(d)
            except (ValueError, TypeError, SyntaxError):
                raise DeriveError(f"the default of {p!r} in {fn.name}() is not a constant: "
                                  f"give {p} in constants=") from None
    return out


_COMPARE = {"Gt": "greater", "Lt": "less", "GtE": "greater_equal", "LtE": "less_equal"}


class _Reader(BodyReader):
    """An array function: the shared statement reader (``derive.frontend.reader.BodyReader``) with
    array expressions (``@``, ``.T``, ``X.shape[k]``, NumPy calls and their method spellings)."""

    tolerant = True  # course code: lines that do not reach the output may stay unstaged (noted)

    def __init__(self, g, env, user=True):
        self.g, self.env, self.user = g, env, user

    def child(self, env):
        reader = _Reader(self.g, env, user=self.user)
        reader.iteration, reader.rolled = self.iteration, self.rolled  # a helper called in a loop
        return reader

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
        lists.whole(self.peek(name))  # a list a rolled loop fills, used as an array: say how to read it
        if self.peek(name) is None:
            if name in CALL_NAMES or name in ARRAY_CALLS:
                raise DeriveError(f"'{name}' is a function: call it as {name}(...) (line {n.lineno})")
            raise DeriveError(f"undefined name '{name}' at {self.where(n.lineno)}")
        return self.resolve(name, n)

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
        if isinstance(n, (ast.Subscript, ast.Call, ast.Compare, ast.BoolOp)):
            node = self.static_node(n)
            if node is not None:
                return node
        if isinstance(n, ast.Attribute):
            if n.attr == "T":
                return g.op("transpose", self.not_a_size(self.expr(n.value), n, ".T"))
            self.fail(f"attribute access '{_dotted(n)}'", n)
        if isinstance(n, ast.IfExp):
            return self.select(n)
        if isinstance(n, ast.Compare) and len(n.ops) == 1 and type(n.ops[0]).__name__ in _COMPARE:
            return g.op(_COMPARE[type(n.ops[0]).__name__], self.expr(n.left), self.expr(n.comparators[0]))
        if isinstance(n, ast.Subscript):
            item = self.pack_item(n)
            if item is not None:
                return item if not isinstance(item, (Static, Pack, Poison)) else self.resolve_item(item, n)
            if isinstance(n.value, ast.Attribute) and n.value.attr == "shape":
                k = n.slice
                if isinstance(k, ast.UnaryOp) and isinstance(k.op, ast.USub) and isinstance(k.operand, ast.Constant):
                    k = ast.Constant(-k.operand.value)
                if isinstance(k, ast.Constant) and isinstance(k.value, int) and not isinstance(k.value, bool):
                    base = self.not_a_size(self.expr(n.value.value), n, ".shape")
                    return g.op("shape", base, opts=(("axis", k.value),))
            return self.subscript(n)
        if isinstance(n, ast.Call):
            return self.call(n)
        self.fail(_CONSTRUCTS.get(type(n).__name__, type(n).__name__), n)

    def value(self, n):
        """``np.hsplit(a, 4)``, ``np.split(a, 2, axis=1)``: a tuple of slices (gathers);
        ``[a, b]``, ``hs[1:]``: a list the function builds (``derive.frontend.lists``)."""
        if isinstance(n, ast.Call) and _dotted(n.func) in gathers.SPLITS and "np" not in self.env:
            return self.split(n)
        made = lists.list_value(self, n)
        return made if made is not None else super().value(n)

    def pack_item(self, n):
        """A tuple's item, or ``h[t]`` / ``h[-1]`` of a list a rolled loop appends to."""
        got = lists.list_item(self, n)
        return got if got is not None else super().pack_item(n)

    def block(self, stmts):
        """Statements, with ``hs.append(h)`` on a list the function made read here."""
        return lists.block(self, stmts, super().block)

    def select(self, n: ast.IfExp):
        """``a if c else b``: a condition on configuration picks a side now (noted); a comparison
        on the data is an elementwise select ``np.where(c, a, b)`` whose gradient goes to the side taken."""
        try:
            taken = bool(static(self, n.test))
        except NotStatic:
            taken = None
        if taken is not None:
            self.note(f"{self.where(n.lineno)}: `{ast.unparse(n.test)[:50]}` is {taken}, so "
                      f"`{ast.unparse(n.orelse if taken else n.body)[:40]}` is not staged")
            return self.expr(n.body if taken else n.orelse)
        cond = self.expr(n.test)
        if not getattr(ARRAY_RULES.get(cond.op), "mask", False):
            self.fail(f"a conditional expression whose condition `{ast.unparse(n.test)[:40]}` is not a comparison "
                      f"(write a if x > 0 else b, or np.where(mask, a, b))", n)
        self.note(f"{self.where(n.lineno)}: `{ast.unparse(n)[:60]}` is staged as an elementwise select, "
                  f"np.where({ast.unparse(n.test)[:30]}, ...): the gradient goes to the side taken")
        return self.g.op("where", cond, self.expr(n.body), self.expr(n.orelse))

    def split(self, n):
        return gathers.split(self, n)

    def subscript(self, n):
        return gathers.subscript(self, n)

    def basic_index(self, node) -> bool:
        """Does this index argument pick without repeats (a mask, or one integer: a constant, a
        size, a given integer or a loop's counter), so ``dx[i] += g`` scatters it back?"""
        return getattr(ARRAY_RULES.get(node.op), "mask", False) or _plain_number(node) \
            or getattr(node, "counter", False)  # a rolled loop's variable (derive.frontend.rolled)

    def set_index(self, target: ast.Subscript, value, op=None):
        return gathers.set_index(self, target, value, op)

    def call(self, n):
        g, fname = self.g, _dotted(n.func)
        if fname == "setitem" and len(n.args) == 3 and not n.keywords and "setitem" not in self.env:
            target = ast.Subscript(n.args[0], n.args[1], ast.Load(), lineno=n.lineno, col_offset=0)
            return self.set_index(target, self.expr(n.args[2]))
        if fname in ("np.zeros", "numpy.zeros") and len(n.args) == 1 and not n.keywords and "np" not in self.env \
                and isinstance(n.args[0], ast.Attribute) and n.args[0].attr == "shape":
            return g.op("zeros_like", self.expr(n.args[0].value))  # np.zeros(W.shape): dW starts at zero
        if fname in filled.FILLS and "np" not in self.env:
            return filled.filled(self, n, fname)  # np.zeros((N, H)): sizes written out
        if self.helper(n) is not None:
            out = self.inline(n)
            if isinstance(out, Pack):
                raise DeriveError(f"{fname}() returns a tuple (line {n.lineno}): unpack it first "
                                  f"(out, cache = {fname}(...))")
            return out if not isinstance(out, Static) else self.resolve_static(out, fname, n)
        base = n.func
        while isinstance(base, ast.Attribute):
            base = base.value
        receiver = None
        if isinstance(n.func, ast.Attribute) and (not isinstance(base, ast.Name) or self.peek(base.id) is not None):
            fname, receiver = "." + n.func.attr, n.func.value  # a method: x.sum(axis=0), z.relu()
            if fname not in ARRAY_CALLS and fname not in CALL_NAMES:
                methods = sorted(c for c in list(ARRAY_CALLS) + list(CALL_NAMES) if c.startswith("."))
                self.fail(f"the method call {ast.unparse(n.func)[:40]}() (supported methods: "
                          f"{', '.join(m[1:] for m in methods)}; or write np.{n.func.attr}(...))", n)
        if any(isinstance(a, ast.Starred) for a in n.args):
            self.fail(f"star arguments in {fname}()", n)
        if fname == "len" and len(n.args) == 1 and not n.keywords:
            return g.op("shape", self.not_a_size(self.expr(n.args[0]), n, "len()"), opts=(("axis", 0),))
        if fname in ("np.prod", "numpy.prod") and len(n.args) == 1 and _rest_of_shape(n.args[0]):
            return g.op("row_size", self.expr(n.args[0].value.value))  # np.prod(x.shape[1:])
        rule = ARRAY_CALLS.get(fname)
        if rule in ("stack", "concatenate") and receiver is None:
            return lists.join(self, n, rule, fname)
        if fname == "sum" and len(n.args) == 1 and not n.keywords and "sum" not in self.env:
            return lists.total(self, n)  # sum(losses): the items of a list added up
        if fname in ("np.array", "numpy.array") and len(n.args) == 1 and not n.keywords:
            return lists.join(self, n, "stack", fname)  # np.array(losses): the list stacked on axis 0
        if rule is None and (fname.startswith(("np.", "numpy.", "derive.", ".")) or "." not in fname):
            rule = CALL_NAMES.get(fname)
            if fname in _BUILTINS:
                rule = None
        if rule is None:
            known = ", ".join(_supported())
            kind = "NumPy call" if fname.startswith(("np.", "numpy.")) else "function"
            raise DeriveError(f"unsupported {kind} '{fname}' at line {n.lineno}; supported: {known}")
        shown = fname if receiver is None else ast.unparse(n.func)[:40]
        raw = ([receiver] if receiver is not None else []) + list(n.args)
        if rule == "reshape":
            raw = _sizes(raw, shown, n)
        if rule == "transpose" and len(raw) > 1:
            return self.permute(raw, shown, n)
        args = [self.expr(a) for a in raw]
        if receiver is not None:
            self.not_a_size(args[0], n, f".{n.func.attr}()")
        opts = self.options(n, rule, shown, args)
        arity = ARRAY_RULES[rule].arity if rule in ARRAY_RULES else RULES[rule].arity
        if rule == "reshape":  # one to four sizes
            arity = len(args)
            opts += (("subscript", ", ".join("{%d}" % i for i in range(1, len(args)))),)
        if len(args) != arity:
            given, want = len(args) - (receiver is not None), arity - (receiver is not None)
            raise DeriveError(f"{shown}() takes {want} argument{'s' * (want != 1)}, got {given} "
                              f"(line {n.lineno})")
        if rule == "max" and args[1].is_const and args[1].value == 0:
            return g.op("relu", args[0])
        if rule == "max" and args[0].is_const and args[0].value == 0:
            return g.op("relu", args[1])
        return g.op(rule, *args, opts=opts)

    def permute(self, raw, shown, n):
        """``np.transpose(x, (0, 2, 1))``, ``x.transpose(0, 2, 1)``: axes that are constants."""
        axes = raw[1].elts if len(raw) == 2 and isinstance(raw[1], (ast.Tuple, ast.List)) else raw[1:]
        try:
            perm = tuple(ast.literal_eval(a) for a in axes)
        except (ValueError, TypeError, SyntaxError):
            perm = ()
        if sorted(perm) != list(range(len(perm))) or not all(type(k) is int for k in perm):
            self.fail(f"{shown}() with axes that are not a permutation of 0, 1, ... written as constants", n)
        inverse = tuple(sorted(range(len(perm)), key=perm.__getitem__))
        base = self.not_a_size(self.expr(raw[0]), n, shown)
        return self.g.op("transpose_axes", base, opts=(("axis", inverse), ("subscript", str(perm))))

    def shape_of(self, x, k):
        self.not_a_size(self.expr(x), x, ".shape")
        return super().shape_of(x, k)

    def not_a_size(self, node, n, what):
        """A size (``x.shape[0]``, ``np.prod(x.shape[1:])``) is a Python int: no ``.T``, no methods."""
        if _plain_number(node):
            kind = "a constant" if node.is_const else "a size"
            self.fail(f"{what} of {kind} ({ast.unparse(n)[:40]}; {kind} is a number, not an array)", n)
        return node

    def resolve_item(self, item, n):
        """A tuple's item used in an expression: a number, or a one-line error."""
        if isinstance(item, Poison):
            raise item.error
        v = getattr(item, "value", None)
        if isinstance(item, Static) and isinstance(v, (int, float)) and not isinstance(v, bool):
            return self.g.const(v)
        what = "a tuple" if isinstance(item, Pack) else describe(v)
        raise DeriveError(f"{ast.unparse(n)[:40]} is {what}, not a number or array, at line {n.lineno}")

    def resolve_static(self, value, fname, n):
        v = value.value
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return self.g.const(v)
        raise DeriveError(f"{fname}() returns {describe(v)}, not a number or array (line {n.lineno})")

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


_SIZES = ("shape", "row_size")


def _plain_number(node) -> bool:
    """Is this value a Python number whatever the shapes (constants, sizes and arithmetic on them)?"""
    stack, seen = [node], set()
    while stack:
        n = stack.pop()
        if id(n) in seen or n.is_const or n.op in _SIZES:
            continue
        if n.op not in RULES or n.is_input:
            return False
        seen.add(id(n))
        stack.extend(n.args)
    return True


def _rest_of_shape(a):
    """Is ``a`` the expression ``X.shape[1:]``?"""
    return isinstance(a, ast.Subscript) and isinstance(a.value, ast.Attribute) and a.value.attr == "shape" \
        and isinstance(a.slice, ast.Slice) and a.slice.upper is None and a.slice.step is None \
        and isinstance(a.slice.lower, ast.Constant) and a.slice.lower.value == 1


def _sizes(raw, shown, n):
    """``x.reshape(N, -1)`` / ``np.reshape(x, (N, -1))``: the array and two sizes."""
    if len(raw) == 2 and isinstance(raw[1], ast.Tuple):
        raw = [raw[0]] + list(raw[1].elts)
    if not 2 <= len(raw) <= 5:
        raise DeriveError(f"{shown}() at line {n.lineno}: give one to four sizes, as in x.reshape(N, -1) "
                          f"or x.reshape(N, T, D)")
    return raw


def _supported() -> list:
    """The calls an array function may make: NumPy spellings, then derive's own names."""
    numpy = sorted(a for a in list(ARRAY_CALLS) + list(CALL_NAMES) if a.startswith("np."))
    ours = [n for n, r in RULES.items() if r.called and not any(a.startswith("np.") for a in r.aliases)
            and n not in _BUILTINS]
    return numpy + ours + [c for r in ARRAY_RULES.values() for c in r.calls if "." not in c]


def numbers_unless_shaped(g, shapes) -> dict:
    """``shapes`` with ``()`` for the parameters it leaves out (``reg``: a number), noted."""
    missing = [p for p, _ in g.params if p not in shapes]
    if missing:
        note = f"no shape given for {', '.join(missing)}: staged as a number (shape ())"
        if note not in g.notes:
            g.notes.append(note)
    return {**{p: () for p in missing}, **shapes}
