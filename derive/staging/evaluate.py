"""Numbers from generated code: compile a program's printed Python once, run it in a namespace.

The same source runs with ``math`` (float64), ``numpy`` (arrays of points) or ``mpmath``
(50 digits, for correctly rounded values). A domain error (log of a negative, division by
zero, overflow) is reported with the forward or backward line where it happened.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp

from derive.core.errors import DeriveError
from derive.core.naming import adjoint_name
from derive.core.numerics import NAMESPACES
from derive.staging.codegen import BACKWARD, FORWARD, adjoint_inits, gradient_source, run_source  # noqa: F401
from derive.printing.printers import CodePrinter, _fmt
from derive.core.rules import A, B, RULES

_FILE = "<derive program>"


@dataclass
class Result:
    """Everything a run computed: the value, the gradient, each intermediate and adjoint."""

    value: object
    grad: dict                                   # input (parameter) name -> number or list
    values: dict = field(default_factory=dict)   # forward variable name -> value
    adjoints: dict = field(default_factory=dict)  # adjoint name -> value
    point: dict = field(default_factory=dict)    # the input values as given
    steps: list = field(default_factory=list)    # value written by each backward line, in order
    notes: list = field(default_factory=list)    # kinks hit at this point, and the convention used

    def __repr__(self):
        grads = ", ".join(f"{k}={_fmt(v)}" for k, v in self.grad.items())
        return f"Result(value={_fmt(self.value)}, grad={{{grads}}})"


def gradient_function(prog, mode="math"):
    """The compiled gradient-only function (what benchmarks time), cached on the program."""
    key = ("grad", mode)
    if key not in prog._compiled:
        ns = dict(NAMESPACES[mode])
        exec(compile(gradient_source(prog), _FILE, "exec"), ns)  # derive's own generated code
        prog._compiled[key] = ns["_derive_grad"]
    return prog._compiled[key]


def compiled(prog, mode="math", trace=False):
    key = (mode, trace)
    if key not in prog._compiled:
        if ("source", trace) not in prog._compiled:  # printed once, compiled per namespace
            prog._compiled[("source", trace)] = run_source(prog, trace)
        src, names, adj, where = prog._compiled[("source", trace)]
        ns = dict(NAMESPACES[mode])
        exec(compile(src, _FILE, "exec"), ns)  # derive's own generated code, never user text
        prog._compiled[key] = (ns["_derive_run"], names, adj, where, src)
    return prog._compiled[key]


def _point(prog, values, convert):
    params = dict(prog.params)
    missing = [n for n in params if n not in values]
    extra = [k for k in values if k not in params]
    if extra:
        raise DeriveError(f"unknown input{'s' * (len(extra) > 1)} {', '.join(extra)}; "
                          f"the inputs are {', '.join(n for n, _ in prog.params)}")
    if missing:
        raise DeriveError(f"missing value for {', '.join(missing)}")
    args = []
    for name, size in prog.params:
        v = values[name]
        if size is None:
            args.append(_number(name, v, convert))
        else:
            if not isinstance(v, (list, tuple, np.ndarray)) or len(v) < size:
                raise DeriveError(f"input {name} must be a list of {size} numbers")
            args.append([_number(f"{name}[{i}]", x, convert) for i, x in enumerate(v)])
    return args


def _number(name, v, convert):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.number, mpmath.mpf, sp.Number)):
        raise DeriveError(f"input {name} must be a number, got {v!r}")
    try:
        f = float(v)
    except OverflowError:
        raise DeriveError(f"input {name} is too large for float64 (about 1.8e308 at most)") from None
    if not math.isfinite(f):
        raise DeriveError(f"input {name} must be finite, got {v!r}")
    return convert(v)


def _where(err, where, prog):
    tb = err.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == _FILE:
            line = tb.tb_lineno
        tb = tb.tb_next
    kind, item = where.get(line, (None, None))
    p = CodePrinter()
    if kind == FORWARD:
        domain = RULES[item.op].domain
        need = f" ({RULES[item.op].name} needs {domain})" if domain else ""
        return f"forward line ({item.number}) `{p._print(item)}`{need}"
    if kind == BACKWARD:
        return f"backward line `{p._print(item)}` (for forward line ({item.ref}))"
    return "the program"


def _explain(err):
    msg = str(err)
    if isinstance(err, ZeroDivisionError):
        return "division by zero"
    if isinstance(err, OverflowError):
        return "overflow (a number too large for float64)"
    if "domain" in msg:
        return "math domain error (e.g. log or sqrt of a negative number)"
    return msg


_COMPLEX = "complex value (a negative number raised to a non-integer power)"


def run(prog, values, exact=False):
    """Evaluate ``prog`` at one point given as {parameter: number or list}."""
    fn, names, adj, where, _ = compiled(prog, "math", trace=True)
    args = _point(prog, values, float)
    at = ", ".join(f"{k}={v!r}" for k, v in values.items())
    try:
        out = fn(*args)
    except (ZeroDivisionError, OverflowError, ValueError) as err:
        raise DeriveError(f"{_explain(err)} in {_where(err, where, prog)} at {at}") from None
    except TypeError as err:  # a complex number (x**0.5 of a negative x) reached a comparison
        if "complex" not in str(err):
            raise
        raise DeriveError(f"{_COMPLEX} before {_where(err, where, prog)} at {at}") from None
    for line, v in zip(prog.forward, out):
        if isinstance(v, complex) or not math.isfinite(v):  # x*1e300*1e300 is inf, not an error
            what = _COMPLEX if isinstance(v, complex) else _explain(OverflowError())
            raise DeriveError(f"{what} in forward line ({line.number}) `{CodePrinter()._print(line)}` "
                              f"at {at}")
    if exact:
        with mpmath.workdps(50):
            fn_mp = compiled(prog, "mpmath", trace=True)[0]
            try:
                out = [_round(v) for v in fn_mp(*_point(prog, values, mpmath.mpf))]
            except (ZeroDivisionError, OverflowError, ValueError) as err:
                raise DeriveError(f"{_explain(err)} in {_where(err, where, prog)}") from None
            except TypeError as err:
                if "complex" not in str(err):
                    raise
                raise DeriveError(f"{_COMPLEX} in {_where(err, where, prog)} at {at}") from None
    if any(isinstance(v, complex) for v in out[:-1]):
        raise DeriveError(f"{_COMPLEX} in the backward pass at {at}")
    out = list(out)
    steps = [float(v) for v in out.pop()]
    k = len(names)
    fwd = dict(zip(names, out[:k]))
    adjv = dict(zip(adj, out[k:k + len(adj)]))
    grads = out[k + len(adj):]
    grad = {}
    for (pname, size), g in zip(prog.params, grads):
        grad[pname] = [float(x) for x in g] if size is not None else float(g)
    for (pname, size), g in zip(prog.params, grad.values()):
        if size is not None:
            for i, x in enumerate(g):
                adjv.setdefault(f"{adjoint_name(pname, set())}[{i}]", x)
    fwd = {k: float(v) for k, v in fwd.items()}
    return Result(float(fwd[prog.output.name]), grad, fwd, {k: float(v) for k, v in adjv.items()},
                  dict(values), steps, _kinks(prog, fwd, args))


def _kinks(prog, fwd, args):
    """Lines evaluated exactly at a kink (relu/abs at 0, max/min ties), with the convention."""
    known = dict(fwd)
    for (pname, size), v in zip(prog.params, args):
        if size is None:
            known[pname] = float(v)
        else:
            known.update({f"{pname}[{i}]": float(x) for i, x in enumerate(v)})
    notes = []
    for ln in prog.forward:
        kink = RULES[ln.op].kink
        if not kink:
            continue
        vals = [known[a.name] if a.is_Symbol else float(a) for a in ln.args]
        at = float(kink[0].xreplace({A: vals[0], B: vals[-1]}))
        if at == 0:
            notes.append(f"line ({ln.number}): {kink[1]}")
    return notes


def _round(v):
    if isinstance(v, list):
        return [_round(x) for x in v]
    return float(v)


def run_many(prog, values: dict):
    """Evaluate at many points at once with NumPy: {param: array} -> (value, {name: grad array})."""
    fn, names, adj, where, _ = compiled(prog, "numpy")
    args = []
    for name, size in prog.params:
        v = values[name]
        args.append([np.asarray(x, dtype=float) for x in v] if size is not None
                    else np.asarray(v, dtype=float))
    with np.errstate(all="ignore"):
        out = fn(*args)
    k = len(names)
    grads = out[k + len(adj):]
    grad = {}
    for (pname, size), g in zip(prog.params, grads):
        grad[pname] = [np.asarray(x, dtype=float) for x in g] if size is not None else np.asarray(g, dtype=float)
    return np.asarray(out[names.index(prog.output.name)], dtype=float), grad


def source(prog) -> str:
    """The exact Python source that ``run`` compiles (for the curious)."""
    return run_source(prog)[0]

