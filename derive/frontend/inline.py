"""Helper functions a staged function calls, found in its own file or a sibling module's source.

``Module`` is one source file, parsed with ``ast`` and never imported or executed: its
top-level ``def``s, its module-level constants (``EPS = 1e-8``) and its ``from .layers import
affine_forward`` / ``from cs231n.layers import *`` imports, resolved to the file next to it
(``layers.py``). The reader inlines a helper's body where it is called (``derive.frontend.reader``),
binding its parameters to the caller's values and labelling its lines with the helper's name.
"""
from __future__ import annotations

import ast
import inspect
import os

from derive.frontend.config import NotStatic, Pack, Poison, Static, module_constants, static
from derive.core.errors import DeriveError
from derive.core.userfile import read_text

MAX_FILE = 1_000_000
MAX_DEPTH = 20
#: Modules whose names are never a sibling file (the libraries course code imports).
LIBRARIES = {"numpy", "np", "math", "derive", "builtins", "__future__", "typing", "scipy", "torch"}


class Module:
    """One source file (or text): its functions, constants and the sibling modules it imports."""

    def __init__(self, source: str, path: str | None = None, tree: ast.Module | None = None):
        self.source, self.path = source, path
        if tree is None:
            try:
                tree = ast.parse(source)
            except SyntaxError as err:
                where = os.path.basename(path) if path else "the source"
                raise DeriveError(f"syntax error in {where} at line {err.lineno}: {err.msg}") from None
            except (RecursionError, MemoryError):
                raise DeriveError("source is nested too deeply") from None
        self.tree = tree
        self.defs = {d.name: d for d in tree.body if isinstance(d, ast.FunctionDef)}
        self.constants = module_constants(tree)
        self._siblings: dict = {}

    @classmethod
    def of(cls, func):
        """The module a function object was defined in, read from its file (never re-imported);
        None when its file cannot be read."""
        try:
            path = inspect.getsourcefile(func)
            if path and os.path.isfile(path):
                return cls(read_text(path, MAX_FILE), path)
        except (TypeError, OSError, DeriveError):
            pass
        return None

    def helper(self, name):
        """``(def, module)`` of the function ``name`` as this module sees it, or None."""
        if name in self.defs:
            return self.defs[name], self
        for st in self.tree.body:
            if not isinstance(st, ast.ImportFrom) or not st.module:
                continue
            for alias in st.names:
                if alias.name == "*" or (alias.asname or alias.name) == name:
                    mod = self.sibling(st.module)
                    real = name if alias.name == "*" else alias.name
                    if mod is not None and real in mod.defs:
                        return mod.defs[real], mod
        return None

    def constant(self, name):
        """A module-level constant, here or imported by name from a sibling module."""
        if name in self.constants:
            return self.constants[name]
        for st in self.tree.body:
            if isinstance(st, ast.ImportFrom) and st.module:
                for alias in st.names:
                    if alias.name == "*" or (alias.asname or alias.name) == name:
                        mod = self.sibling(st.module)
                        real = name if alias.name == "*" else alias.name
                        if mod is not None and real in mod.constants:
                            return mod.constants[real]
        return None

    def sibling(self, dotted: str):
        """The module ``dotted`` (``cs231n.layers``, ``.layers``) as a file next to this one."""
        if self.path is None or dotted.split(".")[0] in LIBRARIES:
            return None
        if dotted not in self._siblings:
            path = os.path.join(os.path.dirname(os.path.abspath(self.path)), dotted.split(".")[-1] + ".py")
            mod = None
            if os.path.isfile(path) and os.path.abspath(path) != os.path.abspath(self.path):
                mod = Module(read_text(path, MAX_FILE, os.path.basename(path)), path)
            self._siblings[dotted] = mod
        return self._siblings[dotted]


def bind_arguments(reader, callee, fdef: ast.FunctionDef, call: ast.Call) -> dict:
    """The callee's parameters bound to the caller's values (positional, keyword); defaults are
    read in the callee's module (``callee``: its reader, before its parameters are bound)."""
    a = fdef.args
    if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs:
        raise DeriveError(f"helper {fdef.name}() (line {fdef.lineno}) takes *args, **kwargs or keyword-only "
                          f"parameters: give it plain parameters")
    names = [p.arg for p in a.args]
    if len(call.args) > len(names) or any(isinstance(x, ast.Starred) for x in call.args):
        raise DeriveError(f"{fdef.name}() takes {len(names)} arguments, got {len(call.args)} (line {call.lineno})")
    env = {p: reader.value(x) for p, x in zip(names, call.args)}
    for kw in call.keywords:
        if kw.arg is None or kw.arg not in names or kw.arg in env:
            raise DeriveError(f"{fdef.name}() has no parameter {kw.arg!r} to pass here (line {call.lineno})")
        env[kw.arg] = reader.value(kw.value)
    defaults = dict(zip(names[len(names) - len(a.defaults):], a.defaults))
    for p in names:
        if p in env:
            continue
        if p not in defaults:
            raise DeriveError(f"{fdef.name}() is missing its argument {p!r} (line {call.lineno})")
        try:
            env[p] = Static(static(callee, defaults[p]))
        except NotStatic:
            raise DeriveError(f"the default of {p!r} in {fdef.name}() is not a constant: pass it "
                              f"(line {call.lineno})") from None
    return env


def inline_call(reader, n: ast.Call):
    """The value a helper returns, its body read here with its parameters bound (never run)."""
    fdef, module = reader.helper(n)
    if reader.depth >= MAX_DEPTH:
        raise DeriveError(f"helpers call each other more than {MAX_DEPTH} deep (recursion?) at "
                          f"{reader.where(n.lineno)}")
    child = reader.child({})
    child.module, child.label, child.depth = module, fdef.name, reader.depth + 1
    child.env.update(bind_arguments(reader, child, fdef, n))
    child.shared = frozenset(k for k, v in child.env.items() if not isinstance(v, (Static, Pack, Poison)))
    child.call_site = reader.where(n.lineno)
    outer_label, lineno = reader.g.label, reader.g.lineno
    reader.g.label = fdef.name
    try:
        return child.statements(list(fdef.body), fdef.name)
    except DeriveError as err:
        raise child.in_context(err) from None
    finally:
        reader.g.label, reader.g.lineno = outer_label, lineno
