"""Programs of arrays: shapes (checked on zeros), running the printed NumPy code, printing it.

The functions behind ``derive.staging.program.Program``'s methods when its values are NumPy arrays.
``with_shapes`` gives the program specialised to the inputs' shapes (every line gets its shape; the forward and
backward code is run once on zeros, line by line, so a mismatch names its line and both
shapes). ``run(W1=..., ...)`` compiles the printed code once per shape signature and returns
the value, the gradient arrays, every intermediate and every adjoint.
"""
from __future__ import annotations

import functools
import html
import re

import numpy as np
import sympy as sp

from derive.core.errors import DeriveError
from derive.staging.evaluate import Result
from derive.core.numerics import ARRAY_NS, array_imports
from derive.frontend.outputs import handwritten_notes
from derive.printing.printers import NumpyPrinter, kw_text
from derive.staging import rolled
from derive.core.rules import ARRAY_RULES, RULES, A, B

_FILE = "<derive array program>"
MAX_NDIM = 8


def header() -> str:
    """The imports of a printed array program (built from the rows)."""
    return f"import numpy as np\nfrom derive.core.primitives import {', '.join(array_imports())}\n"


class ArrayResult(Result):
    """A run's value, gradient arrays, intermediates and adjoints (arrays print as shapes)."""

    def __repr__(self):
        grads = ", ".join(f"{k}: {np.shape(v)}" for k, v in self.grad.items())
        value = repr(float(self.value)) if np.ndim(self.value) == 0 else f"shape {np.shape(self.value)}"
        return f"ArrayResult(value={value}, grad shapes {{{grads}}})"


def _shape_text(shape):
    """``(2, 3)``; a size that depends on the data (a boolean mask's gather) prints as ``?``."""
    if any(n < 0 for n in shape):
        return "(" + ", ".join("?" if n < 0 else str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"
    return "()" if shape == () else str(tuple(shape))


def with_shapes(prog, shapes):
    """``prog`` specialised to input shapes (cached on the shape-free program): every line gets
    its shape, and the forward and backward lines are run once on zeros."""
    _expect_inputs(prog, shapes, "shape")
    key = tuple(_check_shape(p, shapes[p]) for p in prog.param_names)
    base = prog._base
    control = getattr(getattr(base.staged, "g", None), "control", None)
    if control is not None:  # loops read with the sizes given at staging hold only for those
        control.check_shapes(dict(zip(prog.param_names, key)))
    if key not in base._special:
        all_shapes = _forward_shapes(base, dict(zip(prog.param_names, key)))
        spec = base.staged.program(all_shapes)
        spec._base = base
        _check_backward(spec)
        base._special[key] = spec
    return base._special[key]


def run(prog, arrays, upstream=None) -> ArrayResult:
    """Evaluate at arrays: ``prog.run(W1=W1, b=b, ...)`` -> value, gradient arrays, every line
    (and ``upstream=``: the output's upstream gradient, when the output is an array)."""
    point = _arrays(prog, arrays)
    spec = prog.with_shapes({k: v.shape for k, v in point.items()})
    args = [point[p] for p in prog.param_names] + _upstream(spec, upstream)
    fn, fwd, adj = compiled(spec)
    with np.errstate(all="ignore"):
        try:
            out = fn(*args)
        except (IndexError, ValueError) as err:  # the point's own indices (y, W[x]) out of range
            raise DeriveError(f"the program cannot run at these values: {_numpy_reason(err)} (an index or "
                              f"label out of range for the axis it indexes?)") from None
    values = dict(zip(fwd, out[:len(fwd)]))
    adjoints = dict(zip(adj, out[len(fwd):]))
    if spec.output in spec.adjoints:  # the output's own adjoint: 1, or the upstream given
        adjoints.setdefault(spec.adjoints[spec.output].name, args[-1] if spec.upstream else 1.0)
    grad = {p: adjoints[a.name] for p, a in spec.grads.items()}
    value = values[spec.output.name]
    if not np.all(np.isfinite(value)):
        raise DeriveError(f"the value is not finite ({value}): an overflow, log of 0 or division by 0")
    return ArrayResult(value=float(value) if np.ndim(value) == 0 else np.asarray(value), grad=grad,
                       values=values, adjoints=adjoints, point=dict(arrays),
                       notes=prog.notes + _kinks(spec, {**point, **values}) + handwritten_notes(spec, values, grad))


def _upstream(spec, upstream):
    """The upstream gradient as the backward pass's last argument ([] for a scalar output)."""
    shape = spec.shapes[spec.output.name]
    if spec.upstream is None:
        if upstream is not None:
            raise DeriveError("upstream= is for functions whose output is an array; this one "
                              "returns one number (its upstream gradient is 1)")
        return []
    if upstream is None:
        raise DeriveError(f"the function returns an array of shape {_shape_text(shape)}, not one number: "
                          f"give its upstream gradient {spec.upstream} of that shape (run(..., upstream=array); "
                          f"on the command line --upstream)")
    u = np.asarray(upstream)
    if u.dtype.kind not in "fiu" or u.shape != shape:
        raise DeriveError(f"upstream must be a real array of shape {_shape_text(shape)} (the output's), "
                          f"got {u.dtype} of shape {_shape_text(u.shape)}")
    u = u.astype(float)
    if not np.all(np.isfinite(u)):
        raise DeriveError("upstream must be finite")
    return [u]


def compiled(prog):
    """The printed program compiled once: (function, forward names, adjoint names). It takes the
    parameters, then the upstream gradient when the output is an array."""
    if prog.shapes is None:
        raise DeriveError("shapes are unknown: call run() with arrays or with_shapes() first")
    if prog.loops:  # rolled loops: the printed loops, compiled (derive.staging.rolled)
        return rolled.flat(prog, NumpyPrinter())
    if "arrays" not in prog._compiled:
        fwd = [ln.target.name for ln in prog.forward]
        adj = list(dict.fromkeys(bl.target.name for bl in prog.backward
                                 if not bl.target.name.endswith("_full")))
        adj += [a.name for a in prog.grads.values() if a.name not in adj]
        body = [str(ln) for ln in prog.forward] + _inits(prog) + [str(b) for b in prog.backward]
        src = f"def _derive_run({', '.join(_signature(prog))}):\n" + "".join(
            f"    {s}\n" for s in body) + f"    return ({', '.join(fwd + adj)},)\n"
        ns = dict(ARRAY_NS)
        exec(compile(src, _FILE, "exec"), ns)  # derive's own generated code, never user text
        prog._compiled["arrays"] = (ns["_derive_run"], fwd, adj)
    return prog._compiled["arrays"]


def _signature(prog):
    return prog.param_names + ([prog.upstream.name] if prog.upstream is not None else [])


def call_value(call, args, ns):
    """An array gate's value at ``args`` (NumPy arrays, or arrays of SymPy expressions with the
    namespace ``derive.jacobians.SYMPY_NS``): its row's forward template, compiled once."""
    names = [f"_a{i}" for i in range(len(args))]
    text = call.rule.forward.format(*names, kw=kw_text(call.axis, call.keepdims), axis=call.axis,
                                    index=call.subscript.format(*names))
    code = _TEMPLATES.get(text)
    if code is None:
        code = _TEMPLATES[text] = compile(text, "<derive array gate>", "eval")
    return eval(code, ns, {f"_a{i}": v for i, v in enumerate(args)})  # the row's template


_TEMPLATES: dict = {}


def _inits(prog):
    written = {bl.target for bl in prog.backward}
    return [f"{a} = np.zeros_like({p}, dtype=float)" for p, a in prog.grads.items() if a not in written]


# ---- printing ------------------------------------------------------------------------------
def lines(prog, comments=True):
    """Forward then backward statements, each with its ``# (n) shape (...)`` comment."""
    return forward_code(prog, comments).split("\n") + backward_code(prog, comments).split("\n")


def forward_code(prog, comments=True) -> str:
    return _aligned([(str(ln), _note(ln.number, ln.shape, "; ".join(
        filter(None, [f"in {ln.label}" if ln.label else "", "" if ln.used else "not used by the output"]))))
        for ln in prog.forward], comments)


def given_seed(prog) -> list:
    """An output that is an array starts from its upstream gradient (``dout``), given as the
    seed where a number's backward pass starts from ``df = 1``: one comment line saying so."""
    if prog.upstream is None:
        return []
    return [f"# {prog.upstream} is given: the seed, d(loss)/d{prog.output} from the layers above"]


def backward_code(prog, comments=True) -> str:
    rows = [(s, "") for s in given_seed(prog)]
    rows += [(str(b), _note(b.ref, b.shape, b.note)) for b in prog.backward]
    return _aligned(rows + [(s, "") for s in _inits(prog)], comments)


def to_python(prog, name: str | None = None) -> str:
    """A runnable module: the imports and ``def <name>_and_grad(...)`` returning (value, grads).

    Only with known shapes: the backward lines depend on them (``np.outer`` for a 1-D
    ``x``, a sum over the axes a bias was broadcast along), so a shape-free program refuses."""
    if prog.shapes is None:
        raise DeriveError("the printed code depends on the input shapes (np.outer for 1-D inputs, "
                          "sums over broadcast axes): give shapes (--shapes W=2x3,x=3 or --at "
                          "values; in Python prog.with_shapes(...)) before printing Python")
    name = name or f"{prog.name}_and_grad"
    body = ["# forward pass"] + forward_code(prog).split("\n") + ["# backward pass"]
    body += backward_code(prog).split("\n")
    grads = ", ".join(f"{p!r}: {a}" for p, a in prog.grads.items())
    body.append(f"return {prog.output}, {{{grads}}}")
    return (header() + "\n\n" + f"def {name}({', '.join(_signature(prog))}):\n"
            + "".join(f"    {b}\n" for b in body))


def to_markdown(prog, result=None) -> str:
    """Forward and backward tables in Markdown (line, code, shape), then a run's value."""
    if result is not None and prog.shapes is None:
        return to_markdown(_at(prog, result), result)
    rows = ["| # | forward | shape |", "|---|---|---|"]
    rows += [f"| {ln.number} | `{ln}` | {_shape_text(ln.shape) if ln.shape is not None else ''} |"
             for ln in prog.forward]
    rows += ["", "| backward | line | shape |", "|---|---|---|"]
    rows += [f"| `{prog.upstream}` (given: the seed) | | "
             f"{_shape_text(prog.shapes[prog.output.name]) if prog.shapes is not None else ''} |"
             for _ in given_seed(prog)]
    rows += [f"| `{b}` | ({b.ref}) | {_shape_text(b.shape) if b.shape is not None else ''} |"
             for b in prog.backward]
    return "\n".join(rows + _result_text(prog, result))


def to_latex(prog) -> str:
    """The lines as an aligned block of typewriter code (NumPy has no standard LaTeX)."""
    def tt(s):
        return r"\texttt{" + s.replace("_", r"\_").replace("#", r"\#") + "}"
    rows = [rf"&{tt(str(ln))} && ({ln.number}) \\" for ln in prog.forward]
    rows += [rf"&{tt(str(bl))} && ({bl.ref}) \\" for bl in prog.backward]
    return "\\begin{aligned}\n" + "\n".join(rows)[:-3] + "\n\\end{aligned}"


def _at(prog, result):
    return prog.with_shapes({p: np.shape(result.point[p]) for p in prog.param_names})


def to_dict(prog) -> dict:
    """JSON-ready: inputs, labels, shapes, forward and backward lines."""
    return {"inputs": prog.param_names, "labels": prog.labels,
            "shapes": None if prog.shapes is None else {k: list(v) for k, v in prog.shapes.items()},
            "forward": [str(ln) for ln in prog.forward], "backward": [str(b) for b in prog.backward],
            "seed": str(prog.upstream) if prog.upstream is not None else str(prog.backward[0].target)
            if prog.backward and prog.backward[0].seed else None}


def to_text(prog, result=None) -> str:
    """The listing: a header with the shapes, forward and backward lines (and a run's value)."""
    if result is not None and prog.shapes is None:
        return to_text(_at(prog, result), result)
    head = f"{prog.name}({', '.join(prog.param_names)})"
    if prog.shapes is not None:
        head += "  with " + ", ".join(f"{p} {_shape_text(prog.shapes[p])}" for p in prog.param_names)
        if prog.upstream is not None:
            head += f"; upstream {prog.upstream} {_shape_text(prog.shapes[prog.output.name])}"
    else:
        head += "  (shapes unknown: 2-D templates, no broadcast sums; pass shapes= or run it)"
    ind = lambda s: "\n".join("  " + x for x in s.split("\n"))  # noqa: E731
    out = [head, "", "forward pass", ind(forward_code(prog)), "", "backward pass",
           ind(backward_code(prog))]
    return "\n".join(out + _result_text(prog, result))


def to_html(prog) -> str:
    cell = ('<td style="vertical-align:top;text-align:left"><b>{}</b>'
            '<pre style="margin:0">{}</pre></td>')
    return ("<table><tr>" + cell.format("forward pass", html.escape(forward_code(prog)))
            + cell.format("backward pass", html.escape(backward_code(prog))) + "</tr></table>")


def _kinks(prog, env):
    """Lines evaluated exactly at a kink for some elements (relu at 0, max ties), with the rule."""
    notes = []
    for ln in prog.forward:
        kink = getattr(RULES.get(ln.op), "kink", ())
        if not kink:
            continue
        vals = [np.asarray(env[a.name]) if a.is_Symbol else np.asarray(float(a)) for a in ln.args]
        at = sp.lambdify((A, B), kink[0], "numpy")(vals[0], vals[-1])
        hits = int(np.count_nonzero(np.asarray(at) == 0))
        if hits:
            notes.append(f"line ({ln.number}): {kink[1]} ({hits} of {np.size(at)} elements)")
    return notes


def _result_text(prog, result):
    if result is None:
        return [""] * bool(prog.notes) + [f"note: {n}" for n in prog.notes]  # what reading resolved
    with np.printoptions(precision=6, suppress=True, threshold=50):
        value = repr(float(result.value)) if np.ndim(result.value) == 0 else \
            np.array2string(np.asarray(result.value), prefix=f"  {prog.output} = ")
        out = ["", "value", f"  {prog.output} = {value}", "",
               "gradient" if prog.upstream is None else f"gradient (vector-Jacobian products with {prog.upstream})"]
        for k, v in result.grad.items():
            lhs = f"d{prog.output}/d{k}" if prog.upstream is None else f"{prog.grads[k]}"
            text = np.array2string(np.asarray(v), prefix=f"  {lhs} = ")
            out.append(f"  {lhs} = {text}")
    return out + [f"note: {n}" for n in getattr(result, "notes", [])]


def _note(ref, shape, extra=""):
    note = f"# ({ref})" + (f" shape {_shape_text(shape)}" if shape is not None else "")
    return note + (f"  {extra}" if extra else "")


def _aligned(rows, comments):
    if not comments:
        return "\n".join(s for s, _ in rows)
    width = max([len(s) for s, n in rows if n] + [0]) + 2
    return "\n".join(f"{s.ljust(width)}{n}".rstrip() if n else s for s, n in rows)


@functools.lru_cache(maxsize=4096)
def _code(line: str):
    """One printed line compiled (once: the shape checks run each line on two fills)."""
    return compile(line, _FILE, "exec")


def _check_shape(name, shape):
    if isinstance(shape, int):
        shape = (shape,)
    try:
        shape = tuple(int(n) for n in shape)
    except (TypeError, ValueError):
        raise DeriveError(f"shape of {name} must be a tuple of sizes, got {shape!r}") from None
    if len(shape) > MAX_NDIM or any(n < 1 for n in shape):
        raise DeriveError(f"shape of {name} must have at most {MAX_NDIM} positive sizes, got {shape}")
    return shape


def _zeros(prog, shapes):
    out = {p: np.zeros(shapes[p], dtype=int if p in prog.labels else float) for p in prog.param_names}
    return {**out, **{str(lp.var): lp.start for lp in prog.loops}}  # a rolled loop's first step


def _forward_shapes(prog, shapes):
    """Every value's shape, by running the forward lines on zeros (errors name the line) and,
    with a mask, again on other numbers: a size that differs depends on the data, and is -1."""
    out = dict(shapes)
    runs = [_zeros(prog, shapes)]
    if any(ln.op in ARRAY_RULES and ARRAY_RULES[ln.op].mask for ln in prog.forward):  # sizes may vary
        runs.append({p: v if p in prog.labels else np.sin(np.arange(1.0, v.size + 1)).reshape(v.shape)
                     for p, v in runs[0].items()})
    envs = [dict(ARRAY_NS, **point) for point in runs]
    for ln in prog.forward:
        for env in envs:
            try:
                with np.errstate(all="ignore"):
                    exec(_code(str(ln)), env)  # derive's printed line
            except (ValueError, IndexError, TypeError) as err:
                args = ", ".join(f"{a} has shape {_shape_text(out[a.name])}" for a in dict.fromkeys(ln.args)
                                 if a.is_Symbol and a.name in out)
                raise DeriveError(f"shape error in forward line ({ln.number}) `{ln}`: {args} "
                                  f"({_numpy_reason(err)})") from None
        t = ln.target.name
        first, second = (tuple(np.shape(env[t])) for env in (envs * 2)[:2])
        out[t] = first if len(first) != len(second) else \
            tuple(a if a == b else -1 for a, b in zip(first, second))
        if len(out[t]) > MAX_NDIM:
            raise DeriveError(f"forward line ({ln.number}) `{ln}` makes a {len(out[t])}-D array "
                              f"{_shape_text(out[t])}; arrays of up to {MAX_NDIM} dimensions are supported")
    return out


def _check_backward(prog):
    """Run the backward lines on zeros: each adjoint must have its variable's shape."""
    env = dict(ARRAY_NS, **_zeros(prog, prog.shapes))
    if prog.upstream is not None:
        env[prog.upstream.name] = np.zeros(prog.shapes[prog.output.name])
    fwd = {ln.number: ln for ln in prog.forward}
    with np.errstate(all="ignore"):
        for ln in prog.forward:
            exec(_code(str(ln)), env)  # derive's printed line
        for lp in prog.loops:  # one step of a rolled loop adds into these
            env.update({a.name: np.zeros(prog.shapes[v.name]) for v, a in prog.adjoints.items()
                        if a in lp.zeroed and v.name in prog.shapes})
        for bl in prog.backward:
            where = f"backward line `{bl}` (for forward line ({bl.ref}) `{fwd[bl.ref]}`)"
            try:
                exec(_code(str(bl)), env)  # derive's printed line
            except (ValueError, IndexError, TypeError) as err:
                raise DeriveError(f"shape error in {where}: {_numpy_reason(err)}") from None
            got = tuple(np.shape(env[bl.target.name]))
            if len(got) != len(bl.shape) or any(b >= 0 and a != b for a, b in zip(got, bl.shape)):
                raise DeriveError(f"shape error in {where}: it gives shape {_shape_text(got)} but "
                                  f"{bl.var} has shape {_shape_text(bl.shape)}")


def _numpy_reason(err):
    msg = re.sub(r",? with gufunc signature \S+", "", str(err))
    return " ".join(msg.split())[:160]


def _expect_inputs(prog, given, what):
    """Exactly the program's inputs in ``given``, or a one-line error naming the odd one."""
    unknown = [k for k in given if k not in prog.param_names]
    if unknown:
        raise DeriveError(f"unknown input {unknown[0]}; the inputs are {', '.join(prog.param_names)}")
    missing = [p for p in prog.param_names if p not in given]
    if missing:
        raise DeriveError(f"missing {what} for {', '.join(missing)}")


def _arrays(prog, arrays):
    _expect_inputs(prog, arrays, "value")
    out = {}
    for p in prog.param_names:
        v = arrays[p]
        if isinstance(v, (int, float)) and not isinstance(v, bool):  # a number: reg=0.1
            v = np.asarray(v)
        if not isinstance(v, np.ndarray):
            raise DeriveError(f"input {p} must be a NumPy array, got {type(v).__name__} "
                              f"(wrap it: np.array(...))")
        if p in prog.labels:
            if v.dtype.kind not in "iu":
                raise DeriveError(f"input {p} holds class labels: it must be an integer array, got {v.dtype}")
        else:
            if v.dtype.kind not in "fiub":  # a boolean mask is 0/1
                raise DeriveError(f"input {p} must hold real numbers, got dtype {v.dtype}")
            v = v.astype(float, copy=False)
            if not np.all(np.isfinite(v)):
                raise DeriveError(f"input {p} must be finite")
        if v.ndim > MAX_NDIM:
            raise DeriveError(f"input {p} is {v.ndim}-D; arrays of up to {MAX_NDIM} dimensions (or numbers "
                              f"as 0-D arrays) are supported")
        out[p] = v
    return out
