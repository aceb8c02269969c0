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

from derive.errors import DeriveError
from derive.evaluate import Result
from derive.primitives import ARRAY_NS

_FILE = "<derive array program>"
MAX_NDIM = 2
HEADER = ("import numpy as np\n"
          "from derive.primitives import sigmoid, softmax, onehot, softmax_cross_entropy\n")


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
        self.param_names = list(g.params)
        self.params = [(p, None) for p in g.params]
        self.labels = list(staged.labels)
        self.forward = staged.forward(shapes)
        self.backward = staged.backward(shapes)
        self.output = names[staged.out]
        self.adjoints = {names[n]: staged.adjoints[id(n)] for n in g.inputs.values()
                         if id(n) in staged.adjoints}
        self.adjoints.update({names[n]: staged.adjoints[id(n)] for n in staged.nodes
                              if id(n) in staged.adjoints})
        self.grads = {p: self.adjoints[p] for p in g.params if p in self.adjoints}
        self._special, self._compiled = {}, None

    # ---- shapes --------------------------------------------------------------------------
    def with_shapes(self, shapes=None, **kw):
        """This program specialised to input shapes: ``prog.with_shapes(W1=(5, 3), x=(3,))``."""
        shapes = dict(shapes or {}, **kw)
        unknown = [k for k in shapes if k not in self.param_names]
        if unknown:
            raise DeriveError(f"unknown input {unknown[0]}; the inputs are {', '.join(self.param_names)}")
        missing = [p for p in self.param_names if p not in shapes]
        if missing:
            raise DeriveError(f"missing shape for {', '.join(missing)}")
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
    def run(self, **arrays) -> ArrayResult:
        """Evaluate at arrays: ``prog.run(W1=W1, b=b, ...)`` -> value, gradient arrays, every line."""
        point = _arrays(self, arrays)
        prog = self.with_shapes({k: v.shape for k, v in point.items()})
        fn, fwd, adj = prog.compiled()
        with np.errstate(all="ignore"):
            out = fn(*[point[p] for p in self.param_names])
        values = dict(zip(fwd, out[:len(fwd)]))
        adjoints = dict(zip(adj, out[len(fwd):]))
        grad = {p: adjoints[a] for p, a in prog.grads.items()}
        value = values[prog.output]
        if not np.all(np.isfinite(value)):
            raise DeriveError(f"the value is not finite ({value}): an overflow, log of 0 or division by 0")
        return ArrayResult(float(value), grad, values, adjoints, dict(arrays))

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
        return _aligned([(str(ln), _note(ln.number, ln.shape, "" if ln.used else "not used by the output"))
                         for ln in self.forward], comments)

    def backward_code(self, comments=True) -> str:
        rows = [(str(b), _note(b.ref, b.shape, b.note)) for b in self.backward]
        return _aligned(rows + [(s, "") for s in self._inits()], comments)

    def to_python(self, name: str | None = None) -> str:
        """A runnable module: the imports and ``def <name>_and_grad(...)`` returning (value, grads)."""
        name = name or f"{self.name}_and_grad"
        body = ["# forward pass"] + self.forward_code().split("\n") + ["# backward pass"]
        body += self.backward_code().split("\n")
        grads = ", ".join(f"{p!r}: {a}" for p, a in self.grads.items())
        body.append(f"return {self.output}, {{{grads}}}")
        return (HEADER + "\n\n" + f"def {name}({', '.join(self.param_names)}):\n"
                + "".join(f"    {b}\n" for b in body))

    def to_text(self) -> str:
        head = f"{self.name}({', '.join(self.param_names)})"
        if self.shapes is not None:
            head += "  with " + ", ".join(f"{p} {_shape_text(self.shapes[p])}" for p in self.param_names)
        else:
            head += "  (shapes unknown: 2-D templates, no broadcast sums; pass shapes= or run it)"
        ind = lambda s: "\n".join("  " + x for x in s.split("\n"))  # noqa: E731
        return "\n".join([head, "", "forward pass", ind(self.forward_code()), "",
                          "backward pass", ind(self.backward_code())])

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


def _note(ref, shape, extra=""):
    note = f"# ({ref})" + (f" shape {_shape_text(shape)}" if shape is not None else "")
    return note + (f"  {extra}" if extra else "")


def _aligned(rows, comments):
    if not comments:
        return "\n".join(s for s, _ in rows)
    width = max([len(s) for s, _ in rows] + [0]) + 2
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
    return " ".join(re.sub(r"\(n\?,k\),\(k,m\?\)->\(n\?,m\?\)", "", str(err)).split())[:160]


def _arrays(prog, arrays):
    unknown = [k for k in arrays if k not in prog.param_names]
    if unknown:
        raise DeriveError(f"unknown input {unknown[0]}; the inputs are {', '.join(prog.param_names)}")
    missing = [p for p in prog.param_names if p not in arrays]
    if missing:
        raise DeriveError(f"missing value for {', '.join(missing)}")
    out = {}
    for p in prog.param_names:
        v = arrays[p]
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


def stage_text(source: str, name: str | None = None, shapes: str | dict | None = None,
               gates: str = "grouped") -> str:
    """For the CLI: stage function ``name`` of a source file, with ``--shapes`` text; the listing."""
    import ast

    from derive.vector import stage_arrays

    if name is not None:
        try:
            tree = ast.parse(source)
        except SyntaxError as err:
            raise DeriveError(f"syntax error at line {err.lineno}: {err.msg}") from None
        fns = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
        if not fns:
            raise DeriveError(f"no function named '{name}' in the file")
        source = ast.get_source_segment(source, fns[-1])
    if isinstance(shapes, str):
        shapes = parse_shapes(shapes)
    return stage_arrays(source, gates, shapes).to_text()


def central_differences(prog, arrays: dict, h: float = 1e-6) -> dict:
    """The gradient by central differences of the program's value (an independent reference)."""
    point = _arrays(prog, arrays)
    fn = prog.with_shapes({k: v.shape for k, v in point.items()}).compiled()[0]
    spec = prog.with_shapes({k: v.shape for k, v in point.items()})
    k = [ln.target for ln in spec.forward].index(spec.output)
    grads = {}
    for p in prog.grads:
        base = point[p].copy()
        g = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            vals = []
            for step in (h, -h):
                x = base.copy()
                x[idx] += step
                with np.errstate(all="ignore"):
                    vals.append(float(fn(*[x if q == p else point[q] for q in prog.param_names])[k]))
            g[idx] = (vals[0] - vals[1]) / (2 * h)
        grads[p] = g
    return grads
