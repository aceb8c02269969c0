"""A sheet's pages: the parts in order, as one reproducible PDF or as PNG previews.

``draw_sheet`` lays out one sheet (header, circuit, forward and backward tables, gradient,
paths, symbolic side) on ``derive.sheets.mpl``'s page flow; ``pdf_bytes`` writes sheets to one
PDF, or a template whose numbers are left as slots (``derive.sheets.fill``).
"""
from __future__ import annotations

import io

from derive.circuit.draw import RC, quiet_fonts
from derive.sheets.arrays import draw_array_sheet
from derive.sheets.cache import collect_all, prefetch, share_font_work
from derive.sheets.circuit import _circuit
from derive.sheets.mpl import PDF_META, Flow, _backward, _forward, _gradient, _header, _paths
from derive.sheets.symbolic import draw_symbolic
from derive.sheets.mpl import _math_parser


def draw_sheet(pdf, s, slots=None, ready=None):
    """Draw one sheet's pages; ``slots`` (a list): record its numbers instead (a template).
    ``ready()`` is called before the first part that shows SymPy's side (the paths' check and
    the symbolic derivative): what comes before is drawn while SymPy still works."""
    if not hasattr(s, "function_tex"):         # an ArraySheet
        return draw_array_sheet(pdf, s)
    flow = Flow(pdf, s.label, s, slots)
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
    """What every PDF needs first, done while SymPy works in its workers (``sheets_for``'s
    ``meanwhile``, and before a class set's drawing processes fork): matplotlib's PDF backend
    imported, fonts found and subset, the mathtext grammar built."""
    import matplotlib
    from matplotlib.backends import backend_pdf  # noqa: F401
    from matplotlib.font_manager import FontProperties

    quiet_fonts()
    share_font_work()
    prefetch()
    with matplotlib.rc_context(RC):
        _math_parser().parse(r"$\frac{1}{x}$", 72, FontProperties(size=10))
    collect_all()


def pdf_bytes(sheets, slots=None, ready=None) -> bytes:
    """One PDF holding every sheet (each starts on a new page); reproducible bytes. With
    ``slots`` (a list, one sheet): a template, its numbers recorded there, not drawn;
    ``ready``: see ``draw_sheet``."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    quiet_fonts()
    share_font_work()
    prefetch()                                 # font subsets on the other core meanwhile
    with matplotlib.rc_context(RC):
        with PdfPages(buf, metadata=PDF_META) as pdf:
            for s in sheets:
                draw_sheet(pdf, s, slots, ready)
    return buf.getvalue()


def png_pages(sheets, dpi=80) -> list:
    """Each page as PNG bytes (for previews and thumbnails, where no pdftoppm is available)."""
    import matplotlib

    pages = []

    class _Collect:
        def savefig(self, fig):
            b = io.BytesIO()
            fig.savefig(b, format="png", dpi=dpi, metadata={"Software": None})
            pages.append(b.getvalue())

    with matplotlib.rc_context(RC):
        for s in sheets:
            draw_sheet(_Collect(), s)
    return pages
