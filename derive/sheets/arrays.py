"""Array sheets: the derivation sheet of a NumPy program, with the shape of every value shown.

The same sheet as for scalars (function, circuit, forward and backward tables, gradient), for
an ``ArrayProgram`` run at arrays: each line carries its shape, each value is laid out as a
matrix (brackets drawn, since mathtext has no matrices), and the circuit's wires carry shapes.
A worksheet leaves each value as an empty matrix of the right shape: dimension analysis.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import pickle

from derive.core.errors import DeriveError
from derive.core import disk
from derive.symbolic.budget import MAX_BUDGET, start
from derive.circuit.draw import build
from derive.symbolic.jacobians import partials, symbolic_value
from derive.symbolic.metrics import count_ops
from derive.sheets.tex import fmt
from derive.sheets.flow import BLANK_COLOR, CW, M, MONO, NUMBER_BLANK, ROW, Flow
from derive.sheets.parts import GREEN, GREY, RED, _cell, _math, name_line, title_line
from derive.sheets.circuit import _circuit
from derive.sheets.tex import tex_name as latex_name
from derive.sheets.symbolic import INDENT
from derive.sheets.symbolic import broken_lines

MAX_SHOWN = 8          # rows and columns of a matrix printed in full


@dataclass
class ArraySheet:
    """What an array sheet shows: rows of (line, code, shape, value) and the gradient."""

    title: str
    point: dict
    forward: list          # [{"n", "code", "shape", "value"}]
    backward: list         # [{"n", "code", "target", "shape", "value", "fork", "note"}]
    gradient: list         # [(input, adjoint name, array)]
    value: float
    output: str = "f"
    circuit: object = None
    label: str = ""
    blank: set = field(default_factory=set)
    notes: list = field(default_factory=list)
    symbolic: dict = field(default_factory=dict)   # the component-wise view (small sizes)
    digits: int = 4
    student: str = ""
    student_id: str = ""

    @property
    def is_worksheet(self):
        return bool(self.blank)


def _shape(sh):
    return "()" if sh == () else str(tuple(sh))


def as_arrays(prog, point: dict) -> dict:
    """--at values (nested lists) as NumPy arrays: integers for class labels, floats otherwise."""
    out = {}
    for p in prog.param_names:
        if p not in point:
            raise DeriveError(f"missing value for {p}: array sheets take their shapes from --at")
        v = np.asarray(point[p])
        out[p] = v.astype(int) if p in prog.labels else v.astype(float)
    return out


def build_array_sheet(prog, point: dict, digits: int = 4, later: bool = False) -> ArraySheet:
    """Run an array program at ``point`` and collect its sheet. A helper line that only names
    a product before its sum (``dgamma_full``) is folded into the sum that uses it, so every
    name on the sheet is defined on it. ``later``: SymPy's component-wise side works in a
    worker while the sheet is drawn (``Componentwise``), not here."""
    import re

    arrays = as_arrays(prog, point)
    shaped = prog.with_shapes({k: v.shape for k, v in arrays.items()})
    if shaped.upstream is not None:            # a layer (CS231n's affine_forward): no seed of 1
        shape = "x".join(map(str, shaped.shapes[shaped.output.name]))
        raise DeriveError(f"a sheet differentiates one number, and {prog.name} returns an array "
                          f"({shape}); write a function that returns a number made from it, "
                          f"e.g. np.sum(out ** 2) or the course's loss, and print that")
    result = prog.run(**arrays)
    vals, adjs = result.values, result.adjoints
    forward = [{"n": f"({ln.number})", "code": str(ln), "shape": _shape(ln.shape),
                "value": np.asarray(vals.get(ln.target.name))} for ln in shaped.forward]
    backward, helpers = [], {}
    for bl in shaped.backward:
        code = str(bl)
        for name, rhs in helpers.items():
            code = re.sub(rf"\b{re.escape(name)}\b", lambda _m, r=rhs: r, code)
        if bl.target.name.endswith("_full"):
            helpers[bl.target.name] = code.split(" = ", 1)[1]
            continue
        backward.append({"n": f"({bl.ref})", "code": code, "shape": _shape(bl.shape),
                         "target": f"{bl.target} {'+=' if bl.accumulate else '='}",
                         "value": np.asarray(adjs.get(bl.target.name)), "fork": bl.accumulate,
                         "given": bl.seed,
                         "note": f"{bl.var} is used {bl.uses} times: gradients add"})
    grads = [(p, a, np.asarray(result.grad[p])) for p, a in shaped.grads.items()]
    sig = ", ".join(f"{p} {_shape(arrays[p].shape)}" for p in prog.param_names)
    circuit = build(shaped)
    return ArraySheet(f"{prog.name}({sig})", arrays, forward, backward, grads,
                      float(result.value), shaped.output.name, circuit,
                      notes=list(result.notes or []), digits=digits,
                      symbolic=Componentwise(shaped, arrays, later).known())


class Componentwise:
    """``componentwise`` through the disk cache (``derive.core.disk``, keyed by the
    program's lines and the values given); ``later``: worked out in a forked worker (the
    other core) while the sheet is drawn, ``get()`` waiting for it. Pickled (a drawn PDF's
    cache key), it is its key: the answer is a function of the key's content."""

    def __init__(self, prog, arrays, later=False):
        self.prog, self.arrays, self.job, self.value = prog, arrays, None, None
        try:
            self.name = disk.key("componentwise", "\n".join(map(str, prog.forward + prog.backward)),
                                 repr(prog.params), pickle.dumps(sorted(arrays.items()), protocol=4))
        except Exception:
            self.name = None
        self.later = later and self.name is not None
        found = disk.load(self.name) if self.name else None
        if isinstance(found, dict):
            self.value = found
        elif self.later:
            self.job = start(MAX_BUDGET, componentwise, prog, arrays)

    def known(self):
        """This object if ``later`` (its answer is taken when drawn, ``symbolic_of``: the
        sheet's content, and its disk cache key, are the same whether it was in the cache
        or not), else the answer."""
        return self if self.later else self.get()

    def get(self) -> dict:
        if self.value is None:
            out = self.job.wait() if self.job is not None else None
            self.value = out.value if out is not None and out.ok else componentwise(self.prog,
                                                                                    self.arrays)
            if self.name:
                disk.save(self.name, self.value)
        return self.value

    def __reduce__(self):
        return (str, (f"componentwise {self.name}",))


def symbolic_of(s) -> dict:
    """An array sheet's component-wise side, waited for if it is still being worked out."""
    if isinstance(s.symbolic, Componentwise):
        s.symbolic = s.symbolic.get()
    return s.symbolic


def componentwise(prog, arrays) -> dict:
    """The function written out in its scalar components and differentiated by sympy.diff
    (``derive.jacobians``): sizes beside the staged lines, and one partial as an example."""
    import sympy as sp

    shown = [bl for bl in prog.backward if not bl.target.name.endswith("_full")]
    lines = len(prog.forward) + len(shown)
    matrix = next((str(bl) for bl in shown if len(bl.shape or ()) == 2 and "@" in str(bl)
                   or "outer" in str(bl)), None)
    try:
        expr, symbols = symbolic_value(prog, arrays)
    except DeriveError as err:
        return {"text": f"Written out in scalar components: {err}.", "example": None}
    comps = [s for arr in symbols.values() for s in np.ravel(arr)]
    d = partials(expr, symbols)
    derivs = [d[c] for c in comps]
    # W1_0_1 -> W1_01 so that it prints as one subscript (the sizes here are small)
    short = {c: sp.Symbol(c.name.split("_")[0] + "_" + "".join(c.name.split("_")[1:]), real=True)
             for c in comps}
    ops = count_ops(derivs)
    text = (f"Written out in its {len(comps)} scalar components, the function is one expression "
            f"of {count_ops([expr])} operations and its {len(comps)} partial derivatives by "
            f"sympy.diff take {ops} operations; the staged program is {lines} lines of NumPy "
            f"whatever the sizes" + (f", each gradient a whole matrix (as {matrix})." if matrix
                                     else ", each gradient a whole array."))
    return {"text": text, "example": (short[comps[0]], derivs[0].xreplace(short)), "ops": ops,
            "components": len(comps)}


# ---- drawing (on sheet_mpl's page flow) --------------------------------------------------

ENTRY_BLANK = 0.62     # inches (15.7 mm): room to write one matrix entry by hand
ENTRY_ROW = 0.3        # inches between the rows of a blank matrix
ENTRY_COLOR = "#8a8a8a"


def _cells(a, blank, digits=4):

    a = np.atleast_2d(a) if np.ndim(a) else np.array([[a]])
    a = a.reshape(-1, a.shape[-1])  # (N, T, D): its N * T rows of D
    rows = [list(r) for r in a[:MAX_SHOWN, :MAX_SHOWN]]
    text = [["" if blank else fmt(v, digits) for v in r] for r in rows]
    if a.shape[1] > MAX_SHOWN:
        text = [r + ["…"] for r in text]
    if a.shape[0] > MAX_SHOWN:
        text.append(["⋮"] * len(text[0]))
    return text


def _row_h(blank):
    return ENTRY_ROW if blank else 0.16


def matrix_height(a, blank=False) -> float:
    if np.ndim(a) == 0:
        return 0.3 if blank else 0.2
    return _row_h(blank) * len(_cells(a, blank)) + 0.06


def matrix_width(a, blank=False, size=7.5, digits=4) -> float:
    if np.ndim(a) == 0:
        return 1.8 if blank else 1.2
    text = _cells(a, blank, digits)
    return 0.18 + len(text[0]) * _cell_w(text, blank, size)


def _cell_w(text, blank, size):
    if blank:
        return ENTRY_BLANK + 0.1
    width = max((len(c) for r in text for c in r), default=1)
    return width * size * 0.6 / 72 + 0.12


def draw_matrix(flow, x, a, color, blank=False, size=7.5, digits=4):
    """A value at (x, cursor): a number, or a bracketed grid of numbers (a grid of lines to
    write on, for a worksheet). Returns its height in inches; the cursor does not move."""
    if np.ndim(a) == 0:
        if blank:
            flow.line(x, x + NUMBER_BLANK, flow.y - 0.22, 0.7, BLANK_COLOR)
            return 0.3
        flow.text(x, fmt(float(a), digits), size + 0.5, family=MONO, color=color)
        return 0.2
    text = _cells(a, blank, digits)
    cw, rh = _cell_w(text, blank, size), _row_h(blank)
    top, h = flow.y, rh * len(text)
    for i, row in enumerate(text):
        for j, c in enumerate(row):
            left = x + 0.09 + j * cw
            if blank and c == "":
                flow.line(left + 0.05, left + 0.05 + ENTRY_BLANK, top - (i + 1) * rh + 0.05, 0.6,
                          ENTRY_COLOR)
                continue
            flow.pg.text((M + left + cw - 0.06) * 72, (top - 0.02 - i * rh) * 72, c, size,
                         font="mono", color=color, ha="right", va="top")
    right = x + 0.18 + len(text[0]) * cw
    for edge, tick in ((x, 0.05), (right, -0.05)):
        flow.pg.line([((M + edge + tick) * 72, top * 72), ((M + edge) * 72, top * 72),
                      ((M + edge) * 72, (top - h) * 72), ((M + edge + tick) * 72, (top - h) * 72)],
                     width=0.7, color="#444444")
    return h + 0.06


def draw_array_sheet(doc, s):
    flow = Flow(doc, s.label, s)
    title_line(flow, s)
    flow.y -= 0.4
    flow.rule()
    _cell(flow, 0, s.title, CW, 10, family=MONO)
    flow.y -= ROW * 1.3
    name_line(flow, s)
    if s.is_worksheet:
        flow.text(0, "Fill in each value (a matrix of the shape shown), then the backward pass "
                     "from the output back.", 8.5, color=GREY, dy=ROW)
    flow.heading("Inputs")
    d = s.digits
    for p, v in s.point.items():
        h = matrix_height(v)
        flow.need(h + 0.1)
        flow.text(0.1, f"{p}  {_shape(v.shape)}", 8.5, family=MONO)
        flow.y -= max(draw_matrix(flow, 1.4, v, "#222222", digits=d), ROW)
    _circuit(flow, s, "The circuit: the shape of each value (green) and of its gradient (red)",
             numbers=True)
    blank = "values" in s.blank
    for title, rows, color, kind in (("Forward pass: one gate per line", s.forward, GREEN, "f"),
                                     ("Backward pass: each gradient has its value's shape",
                                      s.backward, RED, "b")):
        flow.heading(title)
        for r in rows:
            given = r.get("given", False)   # the seed dloss = 1: printed whole on a worksheet too
            code = r["code"] if not (kind == "b" and "formulas" in s.blank) or given else r["target"] + " ____"
            v = r["value"]
            below = 4.3 + matrix_width(v, blank and not given, digits=d) > CW    # too wide beside the code
            h = max(ROW, matrix_height(v, blank and not given)) + (ROW if below else 0)
            flow.need(h + 0.05)
            if r.get("fork"):
                flow.shade(flow.y, h)
            flow.text(0, r["n"], 8)
            _cell(flow, 0.45, code, 3.0, 8, family=MONO)
            flow.text(3.5, r["shape"], 8, family=MONO, color=GREY)
            if below:
                flow.y -= ROW
            draw_matrix(flow, 0.45 if below else 4.3, v, color, blank=blank and not given, digits=d)
            flow.y -= h + 0.05 - (ROW if below else 0)
    flow.heading("The gradient: one array per input, each of its input's shape")
    for p, adj, g in s.gradient:
        h = max(ROW, matrix_height(g, blank))
        flow.need(h + 0.1)
        flow.text(0.1, f"{adj}  {_shape(g.shape)}", 8.5, family=MONO)
        draw_matrix(flow, 1.4, g, RED, blank=blank, digits=d)
        flow.y -= h + 0.08
    if not blank:
        from derive.sheets.tex import fmt

        flow.need(ROW)
        flow.text(0.1, f"value: {s.output} = {fmt(s.value, d)}", 9, family=MONO, color=GREEN, dy=ROW)
    for note in s.notes:
        flow.text(0.1, f"kink at {note}", 7.5, color=GREY, dy=0.2)
    if s.symbolic and "formulas" not in s.blank and symbolic_of(s):
        _symbolic(flow, s)
    flow.finish()


def _symbolic(flow, s):
    import textwrap

    flow.heading("The symbolic side: one scalar component at a time")
    ex = s.symbolic.get("example")
    if ex is not None:
        comp, d = ex
        lhs = rf"\frac{{\partial {latex_name(s.output)}}}{{\partial {latex_name(comp.name)}}}"
        for text, is_math, size, indent in broken_lines(flow, lhs, d, CW - 0.2):
            flow.need(ROW * 1.6)
            if is_math:
                t = flow.text(0.1 + indent, _math(text), size)
                if not flow.fit(t, CW - 0.1 - indent, 6):
                    t.remove()
                    continue
                flow.y -= ROW * (1.5 if r"\frac" in text else 1.15)
            else:
                flow.text(0.1 + INDENT, text, size, family=MONO, dy=ROW * 0.6)
    for part in textwrap.wrap(s.symbolic["text"], 105):
        flow.need(ROW)
        flow.fit(flow.text(0.1, part, 8.5, dy=ROW * 0.75), CW - 0.1)
