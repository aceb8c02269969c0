"""A sheet's pages: the parts in order, as one reproducible PDF (``derive.pdf``, no matplotlib).

``draw_sheet`` lays out one sheet (header, circuit, forward and backward tables, gradient,
paths, symbolic side) on ``derive.sheets.flow``'s pages; ``pdf_bytes`` writes sheets to one
PDF, or one PDF per sheet of a class set (``pdf_each``, both cores).
"""
from __future__ import annotations

from derive.pdf import fonts
from derive.pdf.document import Document
from derive.sheets.arrays import draw_array_sheet, symbolic_of
from derive.sheets.circuit import _circuit
from derive.sheets.flow import Flow
from derive.sheets.parts import _backward, _forward, _gradient, _header, _paths
from derive.sheets.symbolic import draw_symbolic


def draw_sheet(doc, s, ready=None):
    """Draw one sheet's pages into ``doc``. ``ready()`` is called before the first part that
    shows SymPy's side (the paths' check and the symbolic derivative): what comes before is
    drawn while SymPy still works."""
    if not hasattr(s, "function_tex"):         # an ArraySheet
        return draw_array_sheet(doc, s)
    flow = Flow(doc, s.label, s)
    _header(flow, s)
    _circuit(flow, s)
    _forward(flow, s)
    _backward(flow, s)
    _gradient(flow, s)
    if ready is not None:
        ready()
    _paths(flow, s)
    if "formulas" not in s.blank:
        draw_symbolic(flow, s)
    flow.finish()


def warm():
    """What every PDF needs first, done while SymPy works in its workers: the fonts' metrics
    and their common subsets (from the disk cache, or made once)."""
    for name in fonts.FILES:
        fonts.subset(name, ())


def document(sheets, ready=None) -> Document:
    """The laid-out pages of every sheet (each starts on a new page)."""
    doc = Document()
    for s in sheets:
        draw_sheet(doc, s, ready)
    return doc


def pdf_bytes(sheets, ready=None) -> bytes:
    """One PDF holding every sheet; reproducible bytes. ``ready``: see ``draw_sheet``."""
    return document(sheets, ready).to_bytes()


def pdf_each(sheets) -> list:
    """One PDF per sheet (a class set split per student), drawn on both cores: the sheets are
    dealt to two forked processes when there are enough of them to repay the fork."""
    global _JOBS

    for s in sheets:                           # SymPy's side still in a worker: here, not in forks
        if hasattr(s, "symbolic") and not hasattr(s, "function_tex"):
            symbolic_of(s)
    if len(sheets) < 8 or not _fork():
        return [pdf_bytes([s]) for s in sheets]
    import multiprocessing

    warm()                                     # fonts loaded once, before the fork
    _JOBS = sheets
    try:
        with multiprocessing.get_context("fork").Pool(2) as pool:
            return pool.map(_one, range(len(sheets)), chunksize=max(1, len(sheets) // 16))
    finally:
        _JOBS = None


_JOBS = None            # the sheets of a pdf_each call, shared with the forked workers


def _one(i) -> bytes:
    return pdf_bytes([_JOBS[i]])


def _fork() -> bool:
    import multiprocessing
    import os

    return "fork" in multiprocessing.get_all_start_methods() and (os.cpu_count() or 1) > 1
