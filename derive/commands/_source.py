"""Shared by CLI commands: what to stage (an expression or FILE.py:FUNC) and ``--at`` points.

A file is read and parsed, never imported or run. ``load_target`` and ``parse_at`` raise
``DeriveError`` (one line, exit 2) for a missing file, a missing function or a bad value.
"""
from __future__ import annotations

import math
import os
import re

from derive.errors import DeriveError

_FILE = re.compile(r"^(?P<path>.+\.py)(?::(?P<func>[A-Za-z_]\w*))?$")


def split_target(text: str):
    """``"path.py:func"`` -> ("path.py", "func"); ``"path.py"`` -> ("path.py", None); else None."""
    m = _FILE.match(text.strip())
    return (m.group("path"), m.group("func")) if m else None


def load_target(text, gates):
    """An expression string or ``path.py:func`` (``path.py``: its last function) -> Program."""
    from derive.parse import parse_function
    from derive.staged import stage, stage_graph

    if not isinstance(text, str) or not text.strip():
        raise DeriveError("nothing to stage: give an expression or FILE.py:FUNC")
    target = split_target(text)
    if target is None:
        return stage(text, gates=gates)
    path, func = target
    if not os.path.exists(path):
        raise DeriveError(f"file not found: {path}")
    if os.path.isdir(path):
        raise DeriveError(f"{path} is a directory, not a Python file")
    try:
        with open(path, encoding="utf-8") as fh:
            source = fh.read()
    except (OSError, UnicodeDecodeError) as err:
        raise DeriveError(f"cannot read {path}: {err.__class__.__name__}") from None
    try:
        graph = parse_function(source, func, gates)
    except DeriveError as err:
        raise DeriveError(f"{path}: {err}") from None
    return stage_graph(graph, source if func is None else _function_source(source, func))


def _function_source(source, func):
    import ast

    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == func:
            return ast.get_source_segment(source, node) or source
    return source


def _number(name, text):
    try:
        v = float(text)
    except ValueError:
        raise DeriveError(f"--at: {name} must be a number, got '{text}'") from None
    if not math.isfinite(v):
        raise DeriveError(f"--at: {name} must be finite, got '{text}'")
    return v


def parse_at(text, prog=None) -> dict:
    """``"x=3, y=-4"`` or ``"x=3 w=[1,2,3]"`` -> {"x": 3.0, "y": -4.0, "w": [1.0, 2.0, 3.0]}.

    With ``prog``, every parameter must be given (and no other), lists with enough numbers.
    """
    if text is None:
        return {}
    items = re.findall(r"([^\s,=]+)\s*=\s*(\[[^\]]*\]|[^\s,]+)", text)
    rest = re.sub(r"([^\s,=]+)\s*=\s*(\[[^\]]*\]|[^\s,]+)", "", text)
    if not items or rest.strip(" ,"):
        raise DeriveError(f"--at: expected name=value pairs like 'x=3, y=-4', got '{text}'")
    point = {}
    for name, value in items:
        if name in point:
            raise DeriveError(f"--at: {name} is given twice")
        if value.startswith("["):
            parts = [p for p in re.split(r"[,\s]+", value[1:-1].strip()) if p]
            point[name] = [_number(f"{name}[{i}]", p) for i, p in enumerate(parts)]
        else:
            point[name] = _number(name, value)
    if prog is not None:
        params = dict(prog.params)
        for name in point:
            if name not in params:
                raise DeriveError(f"--at: unknown input {name}; the inputs are {', '.join(params)}")
        for name, size in params.items():
            if name not in point:
                raise DeriveError(f"--at: missing a value for {name}")
            if size is None and isinstance(point[name], list):
                raise DeriveError(f"--at: {name} is a number, not a list")
            if size is not None and (not isinstance(point[name], list) or len(point[name]) < size):
                raise DeriveError(f"--at: {name} must be a list of {size} numbers, like {name}=[{', '.join(['1'] * size)}]")
    return point
