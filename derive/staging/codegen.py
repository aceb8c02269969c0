"""The one code generator: a staged program (or lines of SymPy) -> the source of a Python function.

Everything that runs or prints a scalar program as Python goes through ``function_source``:
``Program.to_python`` (the readable module, with comments), ``derive.staging.evaluate`` (the
teaching run that returns every value, and the gradient-only fast path with list elements as
plain locals) and ``derive.symbolic.derivatives`` (a gradient form's ``cse`` lines). The statements come
from ``derive.printing.printers``'s printers; this module only assembles them.
"""
from __future__ import annotations

import re

from derive.core.naming import adjoint_name, symbol
from derive.core.numerics import python_imports
from derive.printing.printers import CodePrinter, backward_lines

FORWARD, BACKWARD = "forward", "backward"


class FlatPrinter(CodePrinter):
    """Prints list elements as plain locals (w[0] -> w__0): no indexing on the hot path."""

    def _print_Symbol(self, expr):
        return flat(expr.name)


def flat(name: str) -> str:
    m = re.fullmatch(r"(\w+)\[(\d+)\]", name)
    return f"{m.group(1)}__{m.group(2)}" if m else name


def function_source(name: str, params, body, returns: str) -> tuple[str, dict]:
    """``def name(params):`` with ``body`` (statements, or (statement, tag) pairs) and ``return``.

    Returns the source and {source line number: tag} for the tagged statements (so an error
    raised while it runs can be traced back to the program line it came from)."""
    lines, where = [f"def {name}({', '.join(params)}):"], {}
    for item in body:
        text, tag = item if isinstance(item, tuple) else (item, None)
        if tag is not None:
            where[len(lines) + 1] = tag
        lines.append("    " + text)
    lines.append(f"    return {returns}")
    return "\n".join(lines) + "\n", where


def adjoint_inits(prog, flat_lists: bool = False) -> list[str]:
    """Statements that create list adjoints (``dw = [0.0] * 3``) and zero the unwritten ones;
    with ``flat_lists`` the elements are plain locals (``dw__1 = 0.0``)."""
    out, written = [], {bl.target for bl in prog.backward}
    if flat_lists:
        return [f"{flat(prog.adjoints[s].name)} = 0.0" for s in prog.inputs if prog.adjoints[s] not in written]
    for pname, size in prog.params:
        if size is not None:
            out.append(f"{adjoint_name(pname, set())} = [0.0] * {size}")
        else:
            adj = prog.adjoints[symbol(pname)]
            if adj not in written:
                out.append(f"{adj} = 0.0")
    return out


def _grad_names(prog, flat_lists=False) -> list[str]:
    out = []
    for pname, size in prog.params:
        if size is None:
            out.append(flat(prog.adjoints[symbol(pname)].name))
        elif flat_lists:
            base = adjoint_name(pname, set())
            out.append("[" + ", ".join(f"{base}__{i}" for i in range(size)) + "]")
        else:
            out.append(adjoint_name(pname, set()))
    return out


def python_function(prog, name: str = "f_and_grad") -> str:
    """A runnable Python module: imports and ``name(...)`` returning ``(value, gradient)``."""
    p = CodePrinter()
    body = ["# forward pass"] + [p._print(ln) + f"  # ({ln.number})" for ln in prog.forward]
    body += ["# backward pass"] + adjoint_inits(prog) + backward_lines(prog, p)
    grads = ", ".join(f"{pname!r}: {g}" for (pname, _), g in zip(prog.params, _grad_names(prog)))
    src, _ = function_source(name, [n for n, _ in prog.params], body, f"{prog.output}, {{{grads}}}")
    return "\n".join(python_imports() + ["", "", src])


def run_source(prog, trace: bool = False):
    """``_derive_run(*params)`` returning every forward value, every adjoint, the gradient (and
    with ``trace`` the value written by each backward line): (source, names, adjoints, where)."""
    p = CodePrinter()
    body = ["_trace = []"] if trace else []
    body += [(p._print(ln), (FORWARD, ln)) for ln in prog.forward] + adjoint_inits(prog)
    for bl in prog.backward:
        body.append((p._print(bl), (BACKWARD, bl)))
        if trace:
            body.append(f"_trace.append({p._print(bl.target)})")
    names = [ln.target.name for ln in prog.forward]
    adj = list(dict.fromkeys(bl.target.name for bl in prog.backward))
    tail = ["_trace"] if trace else []
    src, where = function_source("_derive_run", [n for n, _ in prog.params], body,
                                 f"({', '.join(names + adj + _grad_names(prog) + tail)},)")
    return src.rstrip("\n"), names, adj, where


def gradient_source(prog) -> str:
    """``_derive_grad(*params)`` -> the gradient only (lists for list parameters): the fast path."""
    p = FlatPrinter()
    body = [f"{', '.join(f'{pname}__{i}' for i in range(size))}, = {pname}"
            for pname, size in prog.params if size]
    body += [p._print(ln) for ln in prog.forward] + adjoint_inits(prog, flat_lists=True)
    body += [p._print(bl) for bl in prog.backward]
    return function_source("_derive_grad", [n for n, _ in prog.params], body,
                           f"({', '.join(_grad_names(prog, flat_lists=True))},)")[0]


def lines_source(name: str, params, lines, outputs) -> str:
    """``name(*params)`` running SymPy assignments ``lines`` [(symbol, expr)] and returning the
    tuple of ``outputs`` (a gradient form, e.g. ``sympy.cse``'s)."""
    p = CodePrinter()
    body = [f"{p.doprint(s)} = {p.doprint(v)}" for s, v in lines]
    return function_source(name, params, body, f"({', '.join(p.doprint(e) for e in outputs)},)")[0]
