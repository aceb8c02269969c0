"""What the commands take: EXPR or FILE.py:FUNC -> Program, and ``--at x=3,y=-4`` -> a point.

Files are read and parsed, never imported or executed; ``--at`` is parsed with ``ast``
(numbers, negative numbers and lists of them only).
"""
from __future__ import annotations

import ast
import os
import re

from derive.core.errors import DeriveError
from derive.frontend.reader import parse_function
from derive.staging.staged import stage
from derive.staging.staged import stage_graph
from derive.frontend.array_source import array_target, parse_shapes
from derive.staging.loops import Control
from derive.staging.restage import keep

MAX_FILE = 1_000_000
_FILE_RE = re.compile(r"^(?P<path>.+\.py)(?::(?P<func>[A-Za-z_]\w*))?$")


def load_target(text: str, gates: str = "grouped", shapes=None, constants=None, unroll=False, at=None):
    """Stage an expression string, or ``path/to/file.py:func`` (parsed, never imported).

    A function over NumPy arrays (or any function when ``shapes`` are given, as text
    ``W1=5x3,b=5`` or a dict) becomes an ArrayProgram. ``unroll`` reads ``for`` loops once per
    iteration; ``at`` (a point) is where conditions on the data are taken (``--unroll``, ``--at``).
    """
    control = Control(unroll, dict(at) if at else None, parse_shapes(shapes) if isinstance(shapes, str) else shapes)

    m = _FILE_RE.match(text.strip())
    if not m:
        if shapes is not None or constants:
            raise DeriveError(f"--{'shapes' if shapes is not None else 'at with configuration'} needs a "
                              "function: path/to/file.py:func")
        return stage(text, gates=gates)
    path, func = m.group("path"), m.group("func")
    if not os.path.isfile(path):
        if os.path.exists(path) or os.path.islink(path):
            raise DeriveError(f"{path} is not a regular file: give a Python source file")
        raise DeriveError(f"no such file: {path}")
    if os.path.getsize(path) > MAX_FILE:
        raise DeriveError(f"{path} is too large (over {MAX_FILE} bytes)")
    try:
        with open(path, encoding="utf-8") as fh:
            source = fh.read()
    except (OSError, UnicodeDecodeError) as err:
        raise DeriveError(f"cannot read {path}: {err}") from None
    prog = array_target(source, func, gates, shapes, path=path, constants=constants, control=control)
    if prog is not None:
        return prog
    prog = stage_graph(parse_function(source, func, gates, control=control), func or os.path.basename(path))
    return keep(prog, load_target, text, gates, shapes, constants, True, at)  # rolled: how to unroll it


def _number(node, name):
    if isinstance(node, (ast.List, ast.Tuple)):  # nested lists: arrays
        return [_number(e, name) for e in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _number(node.operand, name)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bool, type(None))):
        return node.value  # configuration: mode='train'
    if isinstance(node, ast.Dict) and all(isinstance(k, ast.Constant) and isinstance(k.value, str)
                                          for k in node.keys):
        return {k.value: _number(v, f"{name}[{k.value!r}]") for k, v in zip(node.keys, node.values)}
    raise DeriveError(f"--at: value of {name} must be a number, a list of numbers, or configuration "
                      f"(a string, True/False/None, or a dict like {{'mode': 'train'}})")


def is_config(value) -> bool:
    """A ``--at`` value that is configuration (``mode='train'``, a dict), not a number or array."""
    return isinstance(value, (str, bool, dict, type(None)))


def parse_at(text: str | None) -> dict:
    """``"x=3,y=-4"`` or ``"w=[2,-3,-3],x=[-1,-2]"`` -> {"x": 3, "y": -4} (never evaluated)."""
    if text is None:
        return {}
    if len(text) > 100_000:
        raise DeriveError("--at: too long")
    shown = text if len(text) <= 60 else text[:57] + "..."
    try:
        call = ast.parse(f"_({text})", mode="eval").body
    except SyntaxError:
        raise DeriveError(f"--at: expected name=value pairs like x=3,y=-4, got '{shown}'") from None
    except (RecursionError, MemoryError):
        raise DeriveError("--at: nested too deeply; give plain numbers, like x=3,y=-4") from None
    if not isinstance(call, ast.Call) or call.args or any(k.arg is None for k in call.keywords):
        raise DeriveError(f"--at: expected name=value pairs like x=3,y=-4, got '{shown}'")
    point = {}
    for kw in call.keywords:
        if kw.arg in point:
            raise DeriveError(f"--at: {kw.arg} is given twice; give each input once, like x=3,y=-4")
        try:
            point[kw.arg] = _number(kw.value, kw.arg)
        except RecursionError:
            raise DeriveError(f"--at: value of {kw.arg} is nested too deeply") from None
    return point
