"""Configuration fixed at staging time: ``constants=``, dict parameters, module constants, branches.

Course code mixes the arrays it differentiates with configuration: ``bn_param['mode']``,
``bn_param.get('eps', 1e-5)``, ``EPS = 1e-8`` at module level, ``if mode == 'train':``. Such
values are known when the function is staged (``derive.stage(f, constants={"bn_param":
{"mode": "train"}})``); this module holds them (``Static``) and works out expressions of them
(``static``) without running anything: constants, names, ``d[k]``, ``d.get(k, default)``,
comparisons, ``and``/``or``/``not`` and arithmetic on plain numbers. Tuples the function builds
(``cache = (x, w, b)``) are ``Pack``s; a statement that cannot be staged becomes a ``Poison``
that raises its error only if the output needs it.
"""
from __future__ import annotations

import ast
import operator
from dataclasses import dataclass

from derive.core.errors import DeriveError

#: Python values a configuration may hold (dicts and tuples of these too).
PLAIN = (type(None), bool, int, float, str)


@dataclass(frozen=True)
class Static:
    """A value known at staging time: None, a number, a string, a dict, a tuple."""

    value: object


@dataclass(frozen=True)
class Pack:
    """A tuple the function builds (``cache = (x, w, b)``, ``return out, cache``): its items."""

    items: tuple


@dataclass(frozen=True)
class Poison:
    """A name whose statement could not be staged: the error, raised if the output uses it."""

    error: DeriveError
    lineno: int


class Unstaged(DeriveError):
    """The error of a line that was not staged, raised again where its name is used;
    ``origin`` names that line ("line 61 of batchnorm_forward")."""

    def __init__(self, message, origin):
        super().__init__(message)
        self.origin = origin


class NotStatic(Exception):
    """The expression depends on the inputs (or is not something ``static`` works out)."""


_CMP = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
        ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
        ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}
_ARITH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
          ast.Pow: operator.pow}


def check_value(name, value, depth=0):
    """A configuration value must be plain data (numbers, strings, None, dicts, lists, tuples)."""
    if depth > 8:
        raise DeriveError(f"constants: {name} is nested too deeply")
    if isinstance(value, dict):
        for k, v in value.items():
            check_value(f"{name}[{k!r}]", v, depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            check_value(f"{name}[{i}]", v, depth + 1)
    elif not isinstance(value, PLAIN) and not _is_array(value):
        raise DeriveError(f"constants: {name} must be a number, string, None, dict, list or tuple, "
                          f"not {type(value).__name__}")
    return value


def _is_array(value):
    return type(value).__name__ == "ndarray"


def module_constants(tree: ast.Module) -> dict:
    """Top-level ``NAME = literal`` assignments of a module (``EPS = 1e-8``), read, never run."""
    out = {}
    for st in tree.body:
        if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
            try:
                out[st.targets[0].id] = Static(ast.literal_eval(st.value))
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                out.pop(st.targets[0].id, None)
    return out


def static(reader, n):
    """The value of expression ``n`` if it is known at staging time, else raise ``NotStatic``."""
    if isinstance(n, ast.Constant):
        return n.value
    if isinstance(n, ast.Name):
        v = reader.peek(n.id)
        if isinstance(v, Static):
            return v.value
        if isinstance(v, Poison):  # mode = bn_param['mode'] failed: that is the reason
            raise v.error
        raise NotStatic
    if isinstance(n, ast.Subscript):
        base, key = static(reader, n.value), static(reader, n.slice)
        if isinstance(base, (dict, list, tuple)) and isinstance(key, (str, int)) and not isinstance(key, bool):
            try:
                return _read(base[key])
            except (KeyError, IndexError):
                raise DeriveError(f"{ast.unparse(n.value)} has no {'key' if isinstance(base, dict) else 'item'} "
                                  f"{key!r} (line {n.lineno}): give it in constants=") from None
        raise NotStatic
    if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "get" \
            and 1 <= len(n.args) <= 2 and not n.keywords:
        base, key = static(reader, n.func.value), static(reader, n.args[0])
        if not isinstance(base, dict):
            raise NotStatic
        if key in base:
            return _read(base[key])
        if len(n.args) == 1:
            return None
        try:
            return static(reader, n.args[1])
        except NotStatic:
            default = ast.unparse(n.args[1])
            raise DeriveError(f"{ast.unparse(n.func.value)}[{key!r}] is not given and its default "
                              f"{default if len(default) < 30 else default[:27] + '...'} is not a constant "
                              f"(line {n.lineno}): give {key!r} in constants=") from None
    if isinstance(n, ast.Compare):
        left = static(reader, n.left)
        for op, right in zip(n.ops, n.comparators):
            right = static(reader, right)
            try:
                if not _CMP[type(op)](left, right):
                    return False
            except TypeError:
                raise NotStatic from None
            left = right
        return True
    if isinstance(n, ast.BoolOp):
        vals = [static(reader, v) for v in n.values]
        out = vals[0]
        for v in vals[1:]:
            out = (out and v) if isinstance(n.op, ast.And) else (out or v)
        return out
    if isinstance(n, ast.UnaryOp):
        v = static(reader, n.operand)
        if isinstance(n.op, ast.Not):
            return not v
        if isinstance(n.op, (ast.USub, ast.UAdd)) and _number(v):
            return -v if isinstance(n.op, ast.USub) else v
        raise NotStatic
    if isinstance(n, ast.BinOp) and type(n.op) in _ARITH:
        a, b = static(reader, n.left), static(reader, n.right)
        if not (_number(a) and _number(b)) or isinstance(n.op, ast.Pow) and abs(b) > 64:
            raise NotStatic
        try:
            return _ARITH[type(n.op)](a, b)
        except (ZeroDivisionError, OverflowError):
            raise NotStatic from None
    if isinstance(n, ast.Tuple):
        return tuple(static(reader, e) for e in n.elts)
    raise NotStatic


def _read(v):
    """A configuration value read: a key the function wrote (``bn_param[k] = ...``) raises."""
    if isinstance(v, Poison):
        raise v.error
    return v


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def describe(value) -> str:
    """How a configuration value reads in a message: 'train', 3, a dict."""
    if isinstance(value, dict):
        return "a dict"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__}"
    return repr(value)
