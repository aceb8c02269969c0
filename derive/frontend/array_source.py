"""Array functions from the command line: ``file.py:loss`` and ``--shapes W1=5x3,b=5`` -> a program.

For ``derive stage file.py:loss --shapes ...``: ``array_target`` reads the function from the
file's text (never imports or runs it) and returns its array Program, or None when the
function is not array code and no shapes were given (then the scalar engine stages it).
"""
from __future__ import annotations

import ast
import re

from derive.core.errors import DeriveError
from derive.frontend.inline import Module
from derive.staging.arrays import stage_arrays
from derive.frontend.arrays import uses_arrays


def parse_shapes(text: str) -> dict:
    """``"W1=5x3, b=5, x=3x1"`` -> {"W1": (5, 3), "b": (5,), "x": (3, 1)} (``()`` for a number)."""
    shapes = {}
    for part in filter(None, (s.strip() for s in re.split(r"[,;\s]+(?=[A-Za-z_]\w*\s*=)", text.strip()))):
        m = re.fullmatch(r"([A-Za-z_]\w*)\s*=\s*(\(\)|\d+(?:\s*[x×,]\s*\d+)*|\(\s*\d+\s*,?(?:\s*\d+\s*)?\))", part)
        if not m:
            raise DeriveError(f"bad shape '{part}': write NAME=5x3 (or NAME=5, NAME=() for a number)")
        dims = re.findall(r"\d+", m.group(2))
        shapes[m.group(1)] = tuple(int(d) for d in dims)
    if not shapes:
        raise DeriveError("no shapes given: write NAME=5x3, NAME=5, ...")
    return shapes


def array_target(source: str, name: str | None = None, gates: str = "grouped", shapes=None, path=None,
                 constants=None, control=None):
    """For the CLI (``derive stage file.py:loss --shapes ...``): the array Program of
    function ``name`` in ``source`` (read, never run), or None if it is not array code and no
    ``shapes`` (text or dict) or ``constants`` were given. Helpers it calls are read from the
    same source or, with ``path``, from sibling modules. Bad input raises DeriveError."""

    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise DeriveError(f"syntax error at line {err.lineno}: {err.msg}") from None
    fns = [n for n in tree.body if isinstance(n, ast.FunctionDef) and name in (None, n.name)]
    if not fns:
        raise DeriveError(f"no function named '{name}' in the file" if name else "no function definition found")
    text = "\n" * (fns[-1].lineno - 1) + ast.get_source_segment(source, fns[-1])  # file's line numbers
    module = Module(source, path, tree)
    calls_helper = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and module.helper(n.func.id)
                       for n in ast.walk(fns[-1]))
    if shapes is None and constants is None and not calls_helper and not uses_arrays(text) and \
            not (control is not None and control.point and any(getattr(v, "ndim", 0) for v in control.point.values())):
        return None
    if isinstance(shapes, str):
        shapes = parse_shapes(shapes)
    if shapes is None and control is not None and control.point is not None:
        shapes = dict(control.shapes)  # staged at a point: the program of its shapes
    return stage_arrays(source, gates, shapes, constants=constants, name=fns[-1].name, path=path, control=control)


def stage_text(source: str, name: str | None = None, shapes=None, gates: str = "grouped") -> str:
    """The listing ``derive stage file.py:loss --shapes ...`` prints (see ``array_target``)."""
    prog = array_target(source, name, gates, shapes if shapes is not None else {})
    return prog.to_text()
