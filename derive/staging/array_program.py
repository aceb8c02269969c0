"""An array program: shapes (checked on zeros), running the printed NumPy code, printing it.

``ArrayProgram`` is what ``derive.stage`` returns for NumPy functions. ``with_shapes`` gives
the program specialised to the inputs' shapes (every line gets its shape; the forward and
backward code is run once on zeros, line by line, so a mismatch names its line and both
shapes). ``run(W1=..., ...)`` compiles the printed code once per shape signature and returns
the value, the gradient arrays, every intermediate and every adjoint.
"""
from __future__ import annotations

import html
import re

import numpy as np
import sympy as sp

from derive.core.errors import DeriveError
from derive.staging.evaluate import Result
from derive.core.numerics import ARRAY_NS, array_imports
from derive.frontend.outputs import handwritten_notes
from derive.core.rules import RULES, A, B

_FILE = "<derive array program>"
MAX_NDIM = 2


def header() -> str:
    """The imports of a printed array program (built from the rows)."""
    return f"import numpy as np\nfrom derive.core.primitives import {', '.join(array_imports())}\n"


class ArrayResult(Result):
    """A run's value, gradient arrays, intermediates and adjoints (arrays print as shapes)."""

    def __repr__(self):
        grads = ", ".join(f"{k}: {np.shape(v)}" for k, v in self.grad.items())
        return f"ArrayResult(value={float(self.value)!r}, grad shapes {{{grads}}})"


def _shape_text(shape):
    return "()" if shape == () else str(tuple(shape))


class ArrayProgram:
    """Forward lines, NumPy backward lines, and (once known) the shape of every value."""

    def __init__(self, staged, gates, source="", shapes=None):
        self.staged, self.gates, self.source, self.shapes = staged, gates, source, shapes
        names = staged.names
        g = staged.g
        self.name = getattr(g, "name", "f")
        self.param_names = [p for p, _ in g.params]
        self.params = list(g.params)
        self.labels = list(staged.labels)
        self.forward = staged.forward(shapes)
        self.backward = staged.backward(shapes)
        self.output = names[staged.out]
        self.adjoints = {names[n]: staged.adjoints[id(n)] for n in g.inputs.values()
                         if id(n) in staged.adjoints}
        self.adjoints.update({names[n]: staged.adjoints[id(n)] for n in staged.nodes
                              if id(n) in staged.adjoints})
        self.grads = {p: self.adjoints[p] for p in self.param_names if p in self.adjoints}
        self._special, self._compiled = {}, None
        self.notes = list(g.notes)  # staging notes (branches resolved, lines left out)

    # ---- shapes --------------------------------------------------------------------------
    def with_shapes(self, shapes=None, **kw):
        """This program specialised to input shapes: ``prog.with_shapes(W1=(5, 3), x=(3,))``."""
        shapes = dict(shapes or {}, **kw)
        _expect_inputs(self, shapes, "shape")
        key = tuple(_check_shape(p, shapes[p]) for p in self.param_names)
        base = self if self.shapes is None else self._base
        if key not in base._special:
            all_shapes = _forward_shapes(base, dict(zip(self.param_names, key)))
            prog = ArrayProgram(base.staged, base.gates, base.source, all_shapes)
            prog._base = base
            _check_backward(prog)
            base._special[key] = prog
        return base._special[key]

    # ---- numbers -------------------------------------------------------------------------
    def run(self, exact: bool = False, **arrays) -> ArrayResult:
        """Evaluate at arrays: ``prog.run(W1=W1, b=b, ...)`` -> value, gradient arrays, every line.

        Arrays run in float64 (``exact`` is accepted for the scalar API's sake and ignored)."""
        point = _arrays(self, arrays)
        prog = self.with_shapes({k: v.shape for k, v in point.items()})
        fn, fwd, adj = prog.compiled()
        with np.errstate(all="ignore"):
            out = fn(*[point[p] for p in self.param_names])
        values = dict(zip(fwd, out[:len(fwd)]))
        adjoints = dict(zip(adj, out[len(fwd):]))
        if prog.output in prog.adjoints:
            adjoints.setdefault(prog.adjoints[prog.output], 1.0)  # the output's own adjoint
        grad = {p: adjoints[a] for p, a in prog.grads.items()}
        value = values[prog.output]
        if not np.all(np.isfinite(value)):
            raise DeriveError(f"the value is not finite ({value}): an overflow, log of 0 or division by 0")
        return ArrayResult(value=float(value), grad=grad, values=values, adjoints=adjoints,
                           point=dict(arrays), notes=self.notes + _kinks(prog, {**point, **values})
                           + handwritten_notes(prog, values, grad))

    def compiled(self):
        """The printed program compiled once: (function, forward names, adjoint names)."""
        if self.shapes is None:
            raise DeriveError("shapes are unknown: call run() with arrays or with_shapes() first")
        if self._compiled is None:
            fwd = [ln.target for ln in self.forward]
            adj = list(dict.fromkeys(bl.target for bl in self.backward if not bl.target.endswith("_full")))
            adj += [a for a in self.grads.values() if a not in adj]
            body = [str(ln) for ln in self.forward] + self._inits() + [str(b) for b in self.backward]
            src = f"def _derive_run({', '.join(self.param_names)}):\n" + "".join(
                f"    {s}\n" for s in body) + f"    return ({', '.join(fwd + adj)},)\n"
            ns = dict(ARRAY_NS)
            exec(compile(src, _FILE, "exec"), ns)  # derive's own generated code, never user text
            self._compiled = (ns["_derive_run"], fwd, adj)
        return self._compiled

    def _inits(self):
        written = {bl.target for bl in self.backward}
        return [f"{a} = np.zeros_like({p}, dtype=float)" for p, a in self.grads.items() if a not in written]

    # ---- printing ------------------------------------------------------------------------
    def lines(self, comments=True):
        """Forward then backward statements, each with its ``# (n) shape (...)`` comment."""
        return self.forward_code(comments).split("\n") + self.backward_code(comments).split("\n")

    def forward_code(self, comments=True) -> str:
        return _aligned([(str(ln), _note(ln.number, ln.shape, "; ".join(
            filter(None, [f"in {ln.label}" if ln.label else "", "" if ln.used else "not used by the output"]))))
            for ln in self.forward], comments)

    def backward_code(self, comments=True) -> str:
        rows = [(str(b), _note(b.ref, b.shape, b.note)) for b in self.backward]
        return _aligned(rows + [(s, "") for s in self._inits()], comments)

    def to_python(self, name: str | None = None) -> str:
        """A runnable module: the imports and ``def <name>_and_grad(...)`` returning (value, grads).

        Only with known shapes: the backward lines depend on them (``np.outer`` for a 1-D
        ``x``, a sum over the axes a bias was broadcast along), so a shape-free program refuses."""
        if self.shapes is None:
            raise DeriveError("the printed code depends on the input shapes (np.outer for 1-D inputs, "
                              "sums over broadcast axes): give shapes (--shapes W=2x3,x=3 or --at "
                              "values; in Python prog.with_shapes(...)) before printing Python")
        name = name or f"{self.name}_and_grad"
        body = ["# forward pass"] + self.forward_code().split("\n") + ["# backward pass"]
        body += self.backward_code().split("\n")
        grads = ", ".join(f"{p!r}: {a}" for p, a in self.grads.items())
        body.append(f"return {self.output}, {{{grads}}}")
        return (header() + "\n\n" + f"def {name}({', '.join(self.param_names)}):\n"
                + "".join(f"    {b}\n" for b in body))

    def to_markdown(self, result=None) -> str:
        """Forward and backward tables in Markdown (line, code, shape), then a run's value."""
        if result is not None and self.shapes is None:
            return self._at(result).to_markdown(result)
        rows = ["| # | forward | shape |", "|---|---|---|"]
        rows += [f"| {ln.number} | `{ln}` | {_shape_text(ln.shape) if ln.shape is not None else ''} |"
                 for ln in self.forward]
        rows += ["", "| backward | line | shape |", "|---|---|---|"]
        rows += [f"| `{b}` | ({b.ref}) | {_shape_text(b.shape) if b.shape is not None else ''} |"
                 for b in self.backward]
        return "\n".join(rows + _result_text(self, result))

    def to_latex(self) -> str:
        """The lines as an aligned block of typewriter code (NumPy has no standard LaTeX)."""
        def tt(s):
            return r"\texttt{" + s.replace("_", r"\_").replace("#", r"\#") + "}"
        rows = [rf"&{tt(str(x))} && ({x.number if hasattr(x, 'number') else x.ref}) \\"
                for x in self.forward + self.backward]
        return "\\begin{aligned}\n" + "\n".join(rows)[:-3] + "\n\\end{aligned}"

    def _at(self, result):
        return self.with_shapes({p: np.shape(result.point[p]) for p in self.param_names})

    def to_dict(self) -> dict:
        """JSON-ready: inputs, labels, shapes, forward and backward lines."""
        return {"inputs": self.param_names, "labels": self.labels,
                "shapes": None if self.shapes is None else {k: list(v) for k, v in self.shapes.items()},
                "forward": [str(ln) for ln in self.forward], "backward": [str(b) for b in self.backward]}

    def to_text(self, result=None) -> str:
        """The listing: a header with the shapes, forward and backward lines (and a run's value)."""
        if result is not None and self.shapes is None:
            return self._at(result).to_text(result)
        head = f"{self.name}({', '.join(self.param_names)})"
        if self.shapes is not None:
            head += "  with " + ", ".join(f"{p} {_shape_text(self.shapes[p])}" for p in self.param_names)
        else:
            head += "  (shapes unknown: 2-D templates, no broadcast sums; pass shapes= or run it)"
        ind = lambda s: "\n".join("  " + x for x in s.split("\n"))  # noqa: E731
        out = [head, "", "forward pass", ind(self.forward_code()), "", "backward pass",
               ind(self.backward_code())]
        return "\n".join(out + _result_text(self, result))

    def __str__(self):
        return self.to_text()

    def __repr__(self):
        return (f"<ArrayProgram {self.name}({', '.join(self.param_names)}): {len(self.forward)} forward "
                f"lines, {len(self.backward)} backward lines, gates={self.gates}>")

    def _repr_html_(self):
        cell = ('<td style="vertical-align:top;text-align:left"><b>{}</b>'
                '<pre style="margin:0">{}</pre></td>')
        return ("<table><tr>" + cell.format("forward pass", html.escape(self.forward_code()))
                + cell.format("backward pass", html.escape(self.backward_code())) + "</tr></table>")


def _kinks(prog, env):
    """Lines evaluated exactly at a kink for some elements (relu at 0, max ties), with the rule."""
    notes = []
    for ln in prog.forward:
        kink = getattr(RULES.get(ln.op), "kink", ())
        if not kink:
            continue
        vals = [np.asarray(env[a]) if a in env else np.asarray(float(a)) for a in ln.args]
        at = sp.lambdify((A, B), kink[0], "numpy")(vals[0], vals[-1])
        hits = int(np.count_nonzero(np.asarray(at) == 0))
        if hits:
            notes.append(f"line ({ln.number}): {kink[1]} ({hits} of {np.size(at)} elements)")
    return notes


def _result_text(prog, result):
    if result is None:
        return []
    out = ["", "value", f"  {prog.output} = {float(result.value)!r}", "", "gradient"]
    with np.printoptions(precision=6, suppress=True, threshold=50):
        for k, v in result.grad.items():
            text = np.array2string(np.asarray(v), prefix=f"  d{prog.output}/d{k} = ")
            out.append(f"  d{prog.output}/d{k} = {text}")
    return out + [f"note: {n}" for n in getattr(result, "notes", [])]


def _note(ref, shape, extra=""):
    note = f"# ({ref})" + (f" shape {_shape_text(shape)}" if shape is not None else "")
    return note + (f"  {extra}" if extra else "")


def _aligned(rows, comments):
    if not comments:
        return "\n".join(s for s, _ in rows)
    width = max([len(s) for s, n in rows if n] + [0]) + 2
    return "\n".join(f"{s.ljust(width)}{n}".rstrip() if n else s for s, n in rows)


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
    return {p: np.zeros(shapes[p], dtype=int if p in prog.labels else float) for p in prog.param_names}


def _forward_shapes(prog, shapes):
    """Every value's shape, by running the forward lines on zeros; errors name the line."""
    env = dict(ARRAY_NS, **_zeros(prog, shapes))
    out = dict(shapes)
    for ln in prog.forward:
        try:
            with np.errstate(all="ignore"):
                exec(compile(str(ln), _FILE, "exec"), env)  # derive's printed line
        except (ValueError, IndexError, TypeError) as err:
            args = ", ".join(f"{a} has shape {_shape_text(out[a])}" for a in dict.fromkeys(ln.args) if a in out)
            raise DeriveError(f"shape error in forward line ({ln.number}) `{ln}`: {args} "
                              f"({_numpy_reason(err)})") from None
        out[ln.target] = tuple(np.shape(env[ln.target]))
        if len(out[ln.target]) > MAX_NDIM:
            raise DeriveError(f"forward line ({ln.number}) `{ln}` makes a {len(out[ln.target])}-D array "
                              f"{out[ln.target]}; only 1-D and 2-D arrays are supported")
    last = prog.forward[-1]
    if out[prog.output] != ():
        raise DeriveError(f"the function must return one number, but line ({last.number}) `{last}` "
                          f"has shape {_shape_text(out[prog.output])}")
    return out


def _check_backward(prog):
    """Run the backward lines on zeros: each adjoint must have its variable's shape."""
    env = dict(ARRAY_NS, **_zeros(prog, prog.shapes))
    fwd = {ln.number: ln for ln in prog.forward}
    with np.errstate(all="ignore"):
        for ln in prog.forward:
            exec(compile(str(ln), _FILE, "exec"), env)
        for bl in prog.backward:
            where = f"backward line `{bl}` (for forward line ({bl.ref}) `{fwd[bl.ref]}`)"
            try:
                exec(compile(str(bl), _FILE, "exec"), env)
            except (ValueError, IndexError, TypeError) as err:
                raise DeriveError(f"shape error in {where}: {_numpy_reason(err)}") from None
            got = tuple(np.shape(env[bl.target]))
            if got != bl.shape:
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
            if v.dtype.kind not in "fiu":
                raise DeriveError(f"input {p} must hold real numbers, got dtype {v.dtype}")
            v = v.astype(float, copy=False)
            if not np.all(np.isfinite(v)):
                raise DeriveError(f"input {p} must be finite")
        if v.ndim > MAX_NDIM:
            raise DeriveError(f"input {p} is {v.ndim}-D; only 1-D and 2-D arrays (or numbers as 0-D arrays) are supported")
        out[p] = v
    return out
