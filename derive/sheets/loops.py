"""Sheets of rolled loops: a short loop's sheet is that of the program unrolled, a long one a rolled sheet.

A loop of at most ``DRAW_TRIPS`` steps is printed unrolled: the ordinary sheet of the program
staged with ``unroll=True`` (one copy of its body per step, every line with its own numbers),
whose notes say so. A longer loop gets a rolled sheet (``rolled_sheet``): the forward loop and the
reversed backward loop as listed by ``derive.printing.loops`` (the tape stored and restored, ``+=``
where the steps' gradients add), the values of the lines outside the loops and the tapes at the
point, the gradient, and the loop-box circuit (``derive.circuit.loopbox``). It is one answer key
at one point: worksheets, variants, rosters and the other engines are refused in one line.
"""
from __future__ import annotations

from derive.circuit.draw import GREY
from derive.circuit.loopbox import loop_box
from derive.core.errors import DeriveError
from derive.pdf.document import Document
from derive.printing.printers import CodePrinter, NumpyPrinter
from derive.sheets.circuit import draw_circuit
from derive.sheets.flow import CIRCUIT_H, CW, MONO, Flow
from derive.printing.loops import items, value_before
from derive.staging.restage import DRAW_TRIPS, describe, trips

LISTING = 7.6       # points: the listing's font size
LINE = 0.15         # inches per listing line
SHOWN = 6           # tape entries printed (scalars), then "..."


def sheet_program(prog):
    """The program a sheet prints: ``prog`` itself, or its short rolled loops unrolled."""
    if not prog.loops or trips(prog) > DRAW_TRIPS:
        return prog
    return prog.unrolled("a sheet", DRAW_TRIPS)


def rolled_sheet(prog, at, path, digits=4, **options) -> list:
    """Write the rolled sheet of ``prog`` at ``at`` to ``path``; returns [path]. ``options``:
    the sheet's other settings, refused in one line if any is set."""
    from derive.circuit.draw import write_bytes

    asked = [name for name, v in options.items() if v]
    if asked:
        raise DeriveError(f"a sheet of {describe(prog)} is a rolled answer key at one point (loops of at most "
                          f"{DRAW_TRIPS} steps are printed unrolled): drop --{asked[0]}, or stage it with "
                          f"unroll=True (derive sheet --unroll) for a sheet of every step")
    if at is None:
        raise DeriveError("give the input values with --at: a sheet shows the values at a point")
    return [write_bytes(path, pdf(prog, _point(prog, at), digits))]


def _point(prog, at):
    if not prog.arrays:
        return dict(at)
    import numpy as np

    return {k: np.asarray(v, dtype=None if k in prog.labels else float) for k, v in at.items()}


def pdf(prog, point, digits=4) -> bytes:
    """The rolled sheet as reproducible PDF bytes."""
    doc = Document()
    draw(doc, prog, point, digits)
    return doc.to_bytes()


def draw(doc, prog, point, digits=4):
    """Draw the rolled sheet's pages into ``doc`` (a ``derive.pdf.document.Document``)."""

    result = prog.run(**point)
    if prog.arrays:
        import numpy as np

        prog = prog.with_shapes({k: np.shape(v) for k, v in point.items()})
    flow = Flow(doc, "")
    args = ", ".join(prog.param_names)
    flow.text(0, f"{prog.name if prog.arrays else prog.output}({args}): backpropagation through a rolled loop",
              13, weight="bold", dy=0.3)
    at = flow.text(0, "at " + ", ".join(f"{k} = {_number(v, digits)}" for k, v in point.items()), 9)
    flow.fit(at, 7.0)
    flow.y -= 0.22
    flow.text(0, f"{describe(prog)}: each loop is listed once, its values stored per step on a tape for "
                 f"the backward loop", 8.5, color=GREY, dy=0.3)
    fwd, back = items(prog, NumpyPrinter() if prog.arrays else CodePrinter())
    for title, part, forward in (("Forward pass", fwd, True), ("Backward pass", back, False)):
        flow.heading(title + ("" if not forward else " (values outside the loop and the tapes at the point)"))
        for it in part:
            flow.need(LINE)
            comment = f"  # {it.comment}" if it.comment else ""
            t = flow.text(0.1, "    " * it.depth + it.code + comment, LISTING, family=MONO)
            flow.fit(t, 5.2)
            value = _value(prog, it, result, forward, digits)
            if value:
                v = flow.text(5.4, value, LISTING, family=MONO, color="#1a7f37")
                flow.fit(v, 1.6)
            flow.y -= LINE
    flow.heading("The gradient")
    for k, v in result.grad.items():
        flow.need(LINE)
        t = flow.text(0.1, f"d{prog.output}/d{k} = {_number(v, digits)}", LISTING + 0.5, family=MONO, color="#c62828")
        flow.fit(t, 7.0)
        flow.y -= LINE + 0.03
    for note in result.notes:
        flow.text(0.1, f"note: {note}", 8, color=GREY, dy=0.2)
    _box(flow, loop_box(prog))
    flow.finish()


def _box(flow, c):
    """The loop-box circuit across the page (no numbers: they differ at every step)."""
    flow.heading("The circuit: the loop's body once, each carried value going back round")
    w, h = c.size()
    scale = min(CW / w, CIRCUIT_H / h, 1.0)
    flow.need(h * scale + 0.1)
    draw_circuit(flow, c, scale, numbers=False)
    flow.y -= h * scale + 0.1


def _value(prog, it, result, forward, digits) -> str:
    """The number a forward statement shows: a line outside the loops, or a tape (per step)."""
    if not forward:
        return ""
    if it.line is not None and it.depth == 0:
        return _number(value_before(prog, it.line, result), digits)
    name = it.code.split(" = ")[0]
    tape = result.values.get(name) if it.depth == 0 and " = [None] * " in it.code else None
    if tape is None:
        return ""
    if prog.arrays:
        return f"{len(tape)} x {_number(tape[0], digits)}"
    shown = ", ".join(_number(v, digits) for v in tape[:SHOWN])
    return f"[{shown}{', ...' if len(tape) > SHOWN else ''}]"


def _number(v, digits) -> str:
    from derive.sheets.tex import fmt

    if v is None:
        return ""
    shape = getattr(v, "shape", None)
    if shape is not None and shape != ():
        return f"array of shape {tuple(shape)}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_number(x, digits) for x in v) + "]"
    return fmt(float(v), digits)
