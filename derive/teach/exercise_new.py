"""Write a new exercise directory from a function (``derive exercise new FILE.py:FUNC -o DIR``).

The function is read, never run: its imports and its definition become ``forward.py``; its body
(forward pass given) becomes the template's ``backward`` with the backward pass left blank;
``exercise.toml`` samples every parameter around the example point (``--at``; for a NumPy
function its arrays fix the shapes); ``README.md`` tells learners what to return.
"""
from __future__ import annotations

import ast
import builtins
import json
import os

import numpy as np

from derive.core.errors import DeriveError
from derive.teach.exercise_notebook import write_notebook
from derive.teach.exercise_spec import signature
from derive.frontend.arrays import uses_arrays
from derive.frontend.array_source import array_target


def _parts(source, func, where):
    tree = ast.parse(source)
    fn = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == func][-1]
    imports = [ast.get_source_segment(source, n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    body = []
    for node in fn.body:
        if isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.Return):
            if node.value is not None and not isinstance(node.value, ast.Name):
                body.append(f"out = {ast.get_source_segment(source, node.value)}")
            continue
        body.append(ast.get_source_segment(source, node))
    if not body and not isinstance(fn.body[-1], ast.Return):
        raise DeriveError(f"{where}: {func} has no body to give as the forward pass")
    known = {a.asname or a.name.split(".")[0] for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
             for a in n.names} | {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    helpers = sorted({c.func.id for c in ast.walk(fn) if isinstance(c, ast.Call)
                      and isinstance(c.func, ast.Name) and c.func.id not in known
                      and not hasattr(builtins, c.func.id)})
    return imports, ast.get_source_segment(source, fn), body, helpers


def _toml_value(v):
    return json.dumps(np.asarray(v, dtype=float).tolist())


def write_exercise(path, func, out, name=None, at=None):
    """Create directory ``out``; returns the files written. DeriveError for bad input."""

    where = f"{path}:{func}"
    if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
        raise DeriveError(f"-o {out} already exists and is not empty; choose a new directory")
    try:
        with open(path, encoding="utf-8") as fh:
            source = fh.read(1_000_001)
    except (OSError, UnicodeDecodeError) as err:
        raise DeriveError(f"cannot read {path}: {err}") from None
    params = signature(source, func, path)
    name = name or func
    if not name.replace("_", "").isalnum():
        raise DeriveError(f"--name {name!r}: use letters, digits and _")
    at = dict(at or {})
    unknown = set(at) - set(params)
    if unknown:
        raise DeriveError(f"--at: {sorted(unknown)[0]} is not a parameter of {func}({', '.join(params)})")
    numpy = uses_arrays(source)
    if numpy and set(at) != set(params):
        raise DeriveError(f"--at: a NumPy function needs every parameter's value (its arrays fix the "
                          f"shapes), e.g. --at {params[0]}=[[1,2],[3,4]],...")
    example = {p: at.get(p, 1.0) for p in params}
    shapes = {p: np.shape(v) for p, v in example.items()}
    if numpy:  # stage once now: an unsupported line is reported here, not at grading time
        array_target(source, func, "grouped", shapes)
    else:
        from derive.frontend.reader import parse_function
        from derive.staging.staged import stage_graph

        stage_graph(parse_function(source, func, "grouped"), func)
    imports, fn_src, body, helpers = _parts(source, func, where)
    os.makedirs(out, exist_ok=True)
    written = []

    def put(fname, text):
        with open(os.path.join(out, fname), "w", encoding="utf-8") as fh:
            fh.write(text)
        written.append(os.path.join(out, fname))

    head = "\n".join(imports) + ("\n\n\n" if imports else "")
    put("forward.py", head + fn_src + "\n")
    returns = ["d" + p for p in params]
    lines = ["[params." + p + "]" + "\n" + (f"shape = {list(shapes[p])}\n" if shapes[p] else "")
             + "range = [-3, 3]\n" for p in params]
    put("exercise.toml", f'name = "{name}"\ntitle = "Backpropagate through {func}"\n\n[function]\n'
        f'file = "forward.py"\nname = "{func}"\nkind = "{"numpy" if numpy else "scalar"}"\n\n'
        + "\n".join(lines) + f'\n[grading]\nreturns = {json.dumps(returns)}\n'
        + "tests = {" + ", ".join(f"{r} = 1" for r in returns) + ", lines = 1}\nhidden = []\nlines = true\n"
        + "samples = 3\nrtol = 1e-5\natol = 1e-8\n\n[example]\n"
        + "".join(f"{p} = {_toml_value(v)}\n" for p, v in example.items())
        + "\n[limits]\ntime = 10\nmemory_mb = 512\n")
    body_txt = "".join(f"    {ln.replace(chr(10), chr(10) + '    ')}\n" for ln in body)
    put("template.py", f'"""Exercise {name}: write the backward pass of {func}.\n\nReturn ({", ".join(returns)}), '
        f'the gradient of {func} with respect to each parameter.\n"""\n{head}'
        + "".join(f"def {h}(z):  # used by the forward pass: write it\n"
                  f"    raise NotImplementedError(\"{h}\")\n\n\n" for h in helpers)
        + f"def backward({', '.join(params)}):\n    # forward pass (given)\n{body_txt}"
        f"    # backward pass: one line per forward line, in reverse order (+= where a value is used twice)\n"
        f'    raise NotImplementedError("{name}")\n')
    put("README.md", f"# {name}\n\n**Function:** `def backward({', '.join(params)})` **returns** "
        f"`({', '.join(returns)})`.\n\nThe forward function:\n\n```python\n{fn_src}\n```\n\n"
        f"Write the backward pass line by line below the given forward pass. Graded at your own "
        f"random points: one point for each returned gradient and one for your backward lines "
        f"(matched by value, under any names). Check in a notebook opened in this folder: "
        f'`derive.exercises.check(".", backward)`.\n')
    written.append(write_notebook(out, name))
    return written
