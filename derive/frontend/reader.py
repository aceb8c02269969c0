"""The one reader of Python function bodies, for scalars and arrays: statements -> graph nodes.

``BodyReader`` walks a ``def``'s statements (assignments as static single assignment, ``+=``,
``pass``, one ``return``); ``_FunctionReader`` reads scalar functions with it (numbers, lists
indexed by constants) and ``derive.frontend.arrays`` reads NumPy functions with it. Source text
is parsed with ``ast``, never executed; a function object is read through its source.
"""
from __future__ import annotations

import ast

from derive.frontend.config import NotStatic, Pack, Poison, Static, Unstaged, describe, static
from derive.core.errors import DeriveError
from derive.core.userfile import function_source
from derive.frontend import inplace, loops
from derive.frontend.inline import inline_call
from derive.frontend.outputs import select_output
from derive.frontend.parse import _CONSTRUCTS, Graph, _ast_parse, _ExprBuilder, _syntax
from derive.core.rules import BINOPS


def parse_function(source: str, name: str | None = None, gates: str = "grouped", output=None,
                   control=None) -> Graph:
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
    g = Graph(gates)
    g.control = control  # loops and data branches (derive.staging.loops.Control), or None
    return _FunctionReader(defs[-1], g).read(output)


def parse_callable(func, gates: str = "grouped", output=None, control=None) -> Graph:
    """Parse a Python function object by reading its source (it is never called)."""
    if getattr(func, "__name__", "") == "<lambda>":
        raise DeriveError("lambdas are not supported: write the function with def")
    return parse_function(function_source(func), func.__name__, gates, output, control)


class BodyReader:
    """The one reader of Python function bodies, for scalars and arrays alike.

    It walks the statements: assignments (a rebound name gets a new node: static single
    assignment), tuple assignments (``N, D = x.shape``, ``out, cache = helper(...)``),
    augmented assignments (``x += y`` is ``x = x + y``), ``pass``, configuration branches
    (``if mode == 'train':``, resolved now, with a note naming the branch not taken) and
    ``return``. Names may hold graph nodes, configuration (``config.Static``: ``None``,
    ``bn_param``), tuples (``config.Pack``: ``cache = (x, w, b)``) or a statement that could not
    be staged (``config.Poison``: its error is raised only if the output needs it). Calls to
    helper functions of the same file or a sibling module are inlined (``derive.frontend.inline``).
    Subclasses say how an expression is built (``expr``), how names are bound (``bind``), and
    which operators an augmented assignment may use (``augmented``)."""

    g = None
    env: dict = None
    module = None    # derive.frontend.inline.Module of the function's file (helpers, constants)
    label = ""       # the helper being inlined ("" for the staged function itself)
    depth = 0
    call_site = ""   # where the helper being read was called ("line 12")
    shared = frozenset()  # a helper's parameters still holding the caller's arrays
    tolerant = False  # a line that cannot be staged is an error only if the output needs it
    iteration = ()    # the loop iterations being read: (("i", 0), ("j", 2)) (derive.frontend.loops)
    rolled = False    # reading the body of a rolled loop (derive.frontend.rolled)

    def at(self, st):
        self.g.lineno = st.lineno

    def augmented(self, op) -> str | None:
        return BINOPS.get(type(op).__name__)

    def note(self, text):
        notes = self.g.notes
        if text not in notes:
            notes.append(text)

    def where(self, lineno):
        return f"line {lineno}" + (f" of {self.label}" if self.label else "")

    # ---- names ----------------------------------------------------------------------------
    def peek(self, name):
        """What ``name`` holds (node, Static, Pack, Poison), or None if it is unknown."""
        if name in self.env:
            return self.env[name]
        return self.module.constant(name) if self.module is not None else None

    def resolve(self, name, n):
        """The graph node ``name`` stands for in an expression (a number becomes a constant)."""
        v = self.peek(name)
        line = self.where(getattr(n, "lineno", None) or self.g.lineno)
        if isinstance(v, Poison):
            raise v.error
        if isinstance(v, Static):
            if isinstance(v.value, (int, float)) and not isinstance(v.value, bool):
                return self.g.const(v.value)
            if v.value is None:
                raise DeriveError(f"'{name}' is None at {line}: give it a value before using it")
            if type(v.value).__name__ == "ndarray":
                raise DeriveError(f"'{name}' is an array from constants= at {line}: derive uses arrays "
                                  f"only as parameters of the function")
            raise DeriveError(f"'{name}' is configuration ({describe(v.value)}), not a number, at {line}")
        if isinstance(v, Pack):
            raise DeriveError(f"'{name}' is a tuple at {line}: unpack it first (a, b = {name})")
        return v

    # ---- values ---------------------------------------------------------------------------
    def value(self, n):
        """Any value of an expression: a node, a Static (configuration, None) or a Pack (tuple)."""
        if isinstance(n, ast.Tuple):
            return Pack(tuple(self.item(e) for e in n.elts))
        if isinstance(n, ast.Name):
            v = self.peek(n.id)
            if isinstance(v, Poison):
                raise v.error
            if isinstance(v, (Static, Pack)):
                return v
        if isinstance(n, ast.Call) and self.helper(n) is not None:
            return self.inline(n)
        item = self.pack_item(n)
        if item is not None:
            return item
        if isinstance(n, ast.Constant) and (n.value is None or isinstance(n.value, (str, bool))):
            return Static(n.value)
        if not isinstance(n, (ast.Name, ast.Constant)):
            try:
                return Static(static(self, n))
            except NotStatic:
                pass
        return self.expr(n)

    def item(self, n):
        """One item of a tuple: a name that could not be staged stays a Poison (``return loss,
        dx`` with an unstaged ``dx`` still returns ``loss``)."""
        v = self.peek(n.id) if isinstance(n, ast.Name) else None
        return v if isinstance(v, Poison) else self.value(n)

    def pack_item(self, n):
        """``cache[0]``, ``affine_forward(x, w, b)[0]``: an item of a tuple, or None."""
        if not isinstance(n, ast.Subscript) or not isinstance(n.value, (ast.Name, ast.Call)):
            return None
        base = self.value(n.value) if not isinstance(n.value, ast.Name) or \
            isinstance(self.peek(n.value.id), Pack) else None
        if not isinstance(base, Pack):
            return None
        try:
            return base.items[static(self, n.slice)]
        except (NotStatic, TypeError, IndexError):
            raise DeriveError(f"a tuple of {len(base.items)} indexed by something other than a constant "
                              f"position at {self.where(n.lineno)}") from None

    def static_node(self, n):
        """The constant node of an expression known at staging time (``bn_param['eps']``), or None."""
        try:
            v = static(self, n)
        except NotStatic:
            if isinstance(n, ast.Compare) and all(isinstance(op, (ast.Eq, ast.NotEq)) for op in n.ops):
                return loops.comparison(self, n)  # (k == y[i]) as a number, at a point
            return None
        if isinstance(v, (int, float)):
            return self.g.const(int(v) if isinstance(v, bool) else v)
        raise DeriveError(f"{ast.unparse(n)[:40]} is {describe(v)} (configuration), not a number, at "
                          f"{self.where(n.lineno)}")


    # ---- helpers ----------------------------------------------------------------------------
    def helper(self, n: ast.Call):
        if self.module is None or not isinstance(n.func, ast.Name) or n.func.id in self.env:
            return None
        return self.module.helper(n.func.id)

    def inline(self, n: ast.Call):
        """The value a helper returns, its body read here with its parameters bound (never run)."""
        return inline_call(self, n)

    def child(self, env):
        """A reader of the same kind over ``env`` (a helper's body)."""
        raise DeriveError("helper functions are read only in array functions")

    # ---- statements -------------------------------------------------------------------------
    def statements(self, stmts, fname):
        """Read ``stmts`` (a function body); the value the function returns."""
        if stmts and isinstance(stmts[0], ast.Expr) and isinstance(stmts[0].value, ast.Constant) \
                and isinstance(stmts[0].value.value, str):
            stmts = stmts[1:]  # the docstring
        self.poisons = []
        done = self.block(stmts)
        if done is None:
            raise DeriveError(f"function '{fname}' has no return statement")
        for p in self.poisons:
            here = self.where(p.lineno)
            why = str(p.error).split("; supported:")[0] if p.error.origin == here else \
                f"it uses {p.error.origin}, which is not staged"  # the reason, without the list of calls
            self.note(f"{here} is not staged (it does not reach the output): {why}")
        return done[0]

    def block(self, stmts):
        """Read statements; ``(value,)`` once a ``return`` is read, else None."""
        for i, st in enumerate(stmts):
            self.at(st)
            if isinstance(st, ast.Return):
                if i != len(stmts) - 1:
                    raise DeriveError(f"code after return at line {stmts[i + 1].lineno}")
                if st.value is None:
                    raise DeriveError(f"return without a value at line {st.lineno}")
                self.returned = st.value
                return (self.value(st.value),)
            if isinstance(st, (ast.If, ast.For, ast.While)):
                done = self.branch(st) if isinstance(st, ast.If) else \
                    loops.read_for(self, st) if isinstance(st, ast.For) else loops.read_while(self, st)
                if done is not None:
                    return done
            elif isinstance(st, (ast.Continue, ast.Break)):
                if not self.iteration and not self.rolled:
                    raise DeriveError(f"{'continue' if isinstance(st, ast.Continue) else 'break'} outside a "
                                      f"loop at {self.where(st.lineno)}")
                return loops.CONTINUE if isinstance(st, ast.Continue) else loops.BREAK
            elif isinstance(st, (ast.Assign, ast.AnnAssign)):
                self.assign(st)
            elif isinstance(st, ast.AugAssign):
                self.augassign(st)
            elif isinstance(st, ast.Raise):
                what = ast.unparse(st.exc)[:80] if st.exc is not None else "raise"
                raise DeriveError(f"the function raises at {self.where(st.lineno)} with these constants "
                                  f"({what}): give other values in constants=")
            elif isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant) and isinstance(st.value.value, str):
                continue  # a string used as a comment
            elif not isinstance(st, ast.Pass):
                what = "an expression statement (its value is lost)" if isinstance(st, ast.Expr) \
                    else _CONSTRUCTS.get(type(st).__name__, type(st).__name__)
                raise DeriveError(f"unsupported construct: {what} at line {st.lineno}")
        return None

    def branch(self, st: ast.If):
        cond, on_data = loops.condition(self, st.test, self.where(st.lineno))
        taken, other = (st.body, st.orelse) if cond else (st.orelse, st.body)
        test = ast.unparse(st.test)
        if len(test) > 50:
            test = test[:47] + "..."
        if on_data:
            loops.record(self, st.lineno, st.test, cond)
        elif other and not self.iteration:
            self.note(f"{self.where(st.lineno)}: `{test}` is {cond}, so the branch at line "
                      f"{other[0].lineno} is not staged")
        return self.block(taken)

    def assign(self, st):
        targets = st.targets if isinstance(st, ast.Assign) else [st.target]
        if st.value is None:
            return
        for t in targets:
            if isinstance(t, ast.Subscript):
                self.write_into(t, st)
                return
            if not isinstance(t, (ast.Name, ast.Tuple)) or isinstance(t, ast.Tuple) and \
                    not all(isinstance(e, ast.Name) for e in t.elts):
                what = "nested tuple unpacking" if isinstance(t, ast.Tuple) else \
                    "assignment to " + _CONSTRUCTS.get(type(t).__name__, type(t).__name__)
                raise DeriveError(f"unsupported construct: {what} at line {st.lineno}")
        try:
            value = self.value(st.value) if not _unpacks_shape(targets, st.value) else \
                self.shape_of(st.value.value, len(targets[0].elts))
        except DeriveError as err:
            value = self.poison(err, st.lineno)
        for t in targets:
            if isinstance(t, ast.Name):
                self.bind_value(t.id, value)
                continue
            items = value.items if isinstance(value, Pack) else None
            if isinstance(value, Static) and isinstance(value.value, (tuple, list)):
                items = tuple(Static(v) for v in value.value)
            if isinstance(value, Poison):
                items = (value,) * len(t.elts)
            if items is None or len(items) != len(t.elts):
                got = f"{len(items)} values" if items is not None else "one value"
                raise DeriveError(f"cannot unpack {got} into {len(t.elts)} names at {self.where(st.lineno)}")
            for e, v in zip(t.elts, items):
                self.bind_value(e.id, v)

    def shape_of(self, x, k):
        """``N, D = x.shape``: the sizes of ``x`` as ``shape`` nodes."""
        node = self.expr(x)
        return Pack(tuple(self.g.op("shape", node, opts=(("axis", i),)) for i in range(k)))

    def bind_value(self, name, value):
        if self.iteration and not isinstance(value, (Static, Pack, Poison)) and value.user_name is None \
                and not value.is_input and not value.is_const:  # margin_i0_j2: one name per iteration
            value.user_name = name + "_" + "_".join(f"{k}{v}" for k, v in self.iteration)
        if name in self.shared:
            self.shared = self.shared - {name}
        if isinstance(value, (Static, Pack, Poison)):
            self.env[name] = value
        else:
            self.bind(name, value)

    def augassign(self, st):
        if isinstance(st.target, ast.Subscript):
            self.write_into(st.target, st)
            return
        if not isinstance(st.target, ast.Name):
            raise DeriveError(f"unsupported construct: augmented assignment to a non-name at line {st.lineno}")
        op = self.augmented(st.op)
        if op is None:
            raise DeriveError(f"unsupported construct: the operator "
                              f"{_CONSTRUCTS.get(type(st.op).__name__, '?')}= at line {st.lineno}")
        name = st.target.id
        shared = self.sharing(name)
        if shared:  # NumPy's x += ... changes the array in place: every name for it sees the change
            sym = _SYMBOLS[op]
            self.in_place(shared, name, DeriveError(
                f"unsupported construct: `{name} {sym}= ...` at line {st.lineno} changes in place the array "
                f"that {shared[0] if shared[0] != name else 'the caller'} also names (NumPy updates both): "
                f"write {name} = {name} {sym} ..."), st.lineno)
            return
        try:
            value = self.g.op(op, self.lookup(name, st), self.expr(st.value))
        except DeriveError as err:
            value = self.poison(err, st.lineno)
        self.bind_value(name, value)

    def sharing(self, name):
        return inplace.sharing(self, name)

    def in_place(self, names, name, err, lineno):
        inplace.in_place(self, names, name, err, lineno)

    def write_into(self, t, st):
        inplace.write_into(self, t, st)

    def in_context(self, err):
        """An error inside an inlined helper names the helper and the line that called it."""
        msg = str(err)
        if not self.label or "called at line" in msg:
            return err
        return DeriveError(f"{msg} (in {self.label}, called at {self.call_site})")

    def poison(self, err, lineno):
        """A line that cannot be staged: its error, raised now, or (course code, ``tolerant``)
        only when the output needs the name it assigns."""
        if not self.tolerant:
            raise err
        origin = err.origin if isinstance(err, Unstaged) else self.where(lineno)
        p = Poison(Unstaged(str(self.in_context(err)), origin), lineno)
        self.poisons.append(p)
        return p


_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "matmul": "@"}


def _unpacks_shape(targets, value):
    return len(targets) == 1 and isinstance(targets[0], ast.Tuple) and isinstance(value, ast.Attribute) \
        and value.attr == "shape"


_LAZY = object()  # a scalar function's parameter not used yet (a number, or a list: w[0])


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

    def read(self, output=None) -> Graph:
        g = self.g
        for p in self.params:
            self.env[p] = _LAZY  # bound lazily: scalar input or indexed list
        g.output = select_output(self, self.statements(list(self.fn.body), self.fn.name), output)
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
        node = self.peek(name)
        if node is None:
            raise DeriveError(f"undefined name '{name}' at line {self.g.lineno}")
        if node is not _LAZY:
            return self.resolve(name, None)
        if node is _LAZY:  # a parameter used as a scalar
            if self.sizes.get(name) is not None:
                raise DeriveError(f"parameter '{name}' is used both as a number and as a list (line {self.g.lineno})")
            self.scalar_used.add(name)
            return self.g.input(name)
        return node

    def _subscript(self, n: ast.Subscript):
        base = n.value
        idx = n.slice
        if not (isinstance(base, ast.Name) and base.id in self.params and self.env.get(base.id) is _LAZY
                and isinstance(idx, ast.Constant) and isinstance(idx.value, int) and not isinstance(idx.value, bool)
                and idx.value >= 0):
            raise DeriveError(f"unsupported construct: indexing (only a parameter by a constant index, "
                              f"like w[0]) at line {n.lineno}")
        if base.id in self.scalar_used:
            raise DeriveError(f"parameter '{base.id}' is used both as a number and as a list (line {n.lineno})")
        self.sizes[base.id] = max(self.sizes[base.id] or 0, idx.value + 1)
        return self.g.input(f"{base.id}[{idx.value}]")
