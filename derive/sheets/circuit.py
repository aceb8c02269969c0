"""The circuit on a sheet: across the page, spread until its labels are clear, or landscape.

A circuit is recorded (``derive.circuit.pens.Recording``) at the page's width; if its labels
collide it is spread out and recorded again, and one too wide to be read across a portrait page
gets an A4 landscape page of its own after the sheet. Only a clear recording is drawn on the
page (``to_page``: no matplotlib).
"""
from __future__ import annotations

import copy

from derive.circuit.draw import GREY, INK, SPREADS
from derive.circuit.pens import Recording, to_page
from derive.sheets.flow import CIRCUIT_H, CW, H, M, MIN_FONT, ROW, W, footer

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
        if not c.draw(rec, scale=max(scale, MIN_FONT), numbers=numbers, geom=scale):
            _place(flow, rec, w, h, scale)
            flow.y -= h * scale + 0.1
            return
        if scale < 1.0 and CW / w < CIRCUIT_H / h:   # width is short: more height
            if attempt == SPREADS:                      # ... or a landscape page
                flow.text(0, "(on its own landscape page, after this sheet)", 8.5, color=GREY,
                          dy=ROW)
                flow.later.append(lambda: _landscape(flow, c, numbers))
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
    _place(flow, rec, w, h, scale)
    return bad


def _place(flow, rec, w, h, scale):
    """A recording centred across the page, its top at the cursor."""
    left = M + (CW - w * scale) / 2
    to_page(rec, flow.pg, left * PT, (flow.y - h * scale) * PT, w * scale * PT, h * scale * PT)


def _landscape(flow, c, numbers):
    """The circuit alone on an A4 landscape page, spread until its labels are clear."""
    for _ in range(SPREADS + 1):
        w, h = c.size()
        scale = min((H - 2 * M) / w, (W - 2 * M - 0.5) / h, 1.0)
        rec = Recording()
        if not c.draw(rec, scale=max(scale, MIN_FONT), numbers=numbers, geom=scale):
            break
        c.spread(1.0, 1.3)                     # width is what is short: more height
    pg = flow.new_landscape()
    pg.text(M * PT, (W - M) * PT, "The circuit", 11.5, font="sans-bold", color=INK, va="top")
    to_page(rec, pg, (H - w * scale) / 2 * PT, (W - M - 0.4 - h * scale) * PT, w * scale * PT,
            h * scale * PT)
    pg.text(H / 2 * PT, 0.35 * PT, footer(flow.label, flow.page), 7.5, color=GREY, ha="center")
