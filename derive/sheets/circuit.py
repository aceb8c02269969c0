"""The circuit on a sheet: across the page, spread until its labels are clear, or landscape.

A circuit is recorded (``derive.circuit.pens.Recording``) at the page's width; if its labels
collide it is spread out and recorded again, and one too wide to be read across a portrait page
gets an A4 landscape page of its own after the sheet. Only a clear recording is drawn on the
page (``to_page``: no matplotlib). In a template (``derive.sheets.fill``) its numbers become
slots, in page points.
"""
from __future__ import annotations

import copy

from derive.circuit.draw import GREY, INK, SPREADS
from derive.circuit.pens import MplPen, Recording, to_page
from derive.sheets.mpl import CIRCUIT_H, CW, H, M, MIN_FONT, ROW, W, Slot, footer

PT = 72                                       # points per inch


def _circuit(flow, s, title=None, numbers=None):
    """The circuit across the page; one too wide to be read there gets a landscape page."""
    if s.circuit is None:
        return
    c = copy.deepcopy(s.circuit)               # spreading it out is this drawing's business
    flow.heading(title or "The circuit" + ("" if s.is_worksheet else
                                           ": values in green above each wire, gradients in red below"))
    if numbers is None:
        numbers = "blanks" if s.is_worksheet else True
    for attempt in range(SPREADS + 1):
        w, h = c.size()
        scale = min(CW / w, CIRCUIT_H / h, 1.0)
        flow.need(h * scale + 0.1)
        rec = Recording()
        if not c.draw(rec, scale=max(scale, MIN_FONT), numbers=numbers, geom=scale, **_slots(flow, s)):
            left = M + (CW - w * scale) / 2
            _draw(_page(flow), rec, left * PT, (flow.y - h * scale) * PT, w * scale * PT, h * scale * PT)
            flow.y -= h * scale + 0.1
            return
        if scale < 1.0 and CW / w < CIRCUIT_H / h:   # width is short: more height
            if attempt == SPREADS:                      # ... or a landscape page
                flow.text(0, "(on its own landscape page, after this sheet)", 8.5, color=GREY,
                          dy=ROW)
                flow.later.append(lambda: _landscape(flow, c, numbers, s))
                return
            c.spread(1.0, 1.25)
        else:
            c.spread()


def draw_circuit(flow, c, scale, numbers=False) -> int:
    """Draw ``c`` across the page at ``scale``, its top at the cursor (the cursor does not
    move); returns how many of its labels could not be placed clear (drawn all the same)."""
    w, h = c.size()
    rec = Recording()
    bad = c.draw(rec, scale=max(scale, MIN_FONT), numbers=numbers, geom=scale)
    left = M + (CW - w * scale) / 2
    _draw(_page(flow), rec, left * PT, (flow.y - h * scale) * PT, w * scale * PT, h * scale * PT)
    return bad


def _slots(flow, s):
    """Circuit.draw's arguments that turn its numbers into the template's slots (on the page
    being drawn when the recording goes onto it)."""
    if flow.slots is None:
        return {}

    def slot(x, y, get, ha, va, size, color):
        flow.slots.append(Slot(flow.page - 1, x, y, ha, va, size, color, get))

    return {"defer": slot, "pad": s.digits + 4}


def _landscape(flow, c, numbers, s):
    """The circuit alone on an A4 landscape page, spread until its labels are clear."""
    for _ in range(SPREADS + 1):
        w, h = c.size()
        scale = min((H - 2 * M) / w, (W - 2 * M - 0.5) / h, 1.0)
        rec = Recording()
        if not c.draw(rec, scale=max(scale, MIN_FONT), numbers=numbers, geom=scale, **_slots(flow, s)):
            break
        c.spread(1.0, 1.3)                     # width is what is short: more height
    before = flow.page
    pg = flow.new_landscape() if hasattr(flow, "new_landscape") else _Figure(None)
    if flow.page == before:                    # the page count is this page's business
        flow.page += 1
    pg.text(M * PT, (W - M) * PT, "The circuit", 11.5, font="sans-bold", color=INK, va="top")
    _draw(pg, rec, (H - w * scale) / 2 * PT, (W - M - 0.4 - h * scale) * PT, w * scale * PT,
          h * scale * PT)
    if flow.slots is None:
        pg.text(H / 2 * PT, 0.35 * PT, footer(flow.label, flow.page), 7.5, color=GREY, ha="center")
    else:
        flow.slots.append(Slot(flow.page - 1, H / 2 * PT, 0.35 * PT, "center", "baseline", 7.5,
                               GREY, lambda sh, n=flow.page: footer(sh.label, n)))
    if isinstance(pg, _Figure):
        flow.pdf.savefig(pg.fig)


def _page(flow):
    """The page being drawn: the page flow's Page, or the matplotlib flow's Figure."""
    return flow.pg if hasattr(flow, "pg") else _Figure(flow.fig)


def _draw(page, rec, x, y, w, h):
    """A recorded circuit inside the rectangle (points) of a Page, or of a Figure."""
    if isinstance(page, _Figure):
        rec.replay(MplPen(page.fig.add_axes((x / page.w, y / page.h, w / page.w, h / page.h))))
    else:
        to_page(rec, page, x, y, w, h)


class _Figure:
    """A matplotlib Figure seen as a page, for the matplotlib flow (derive.sheets.mpl) until the
    page flow replaces it; ``None``: a new A4 landscape Figure."""

    def __init__(self, fig):
        if fig is None:
            from matplotlib.figure import Figure

            fig = Figure(figsize=(H, W))
        self.fig = fig
        self.w, self.h = (v * PT for v in fig.get_size_inches())

    def text(self, x, y, s, size, font="sans", color=INK, ha="left", va="baseline"):
        bold = {"weight": "bold"} if font == "sans-bold" else {}
        self.fig.text(x / self.w, y / self.h, s, fontsize=size, color=color, ha=ha, va=va, **bold)
