"""The circuit on a sheet: across the page, spread until its labels are clear, or landscape.

A circuit is drawn at the page's width; if its labels collide it is spread out and drawn
again, and one too wide to be read across a portrait page gets an A4 landscape page of its
own after the sheet. In a template (``derive.sheets.fill``) its numbers become slots.
"""
from __future__ import annotations

import copy

from derive.circuit.draw import GREY, SPREADS
from derive.sheets.mpl import CIRCUIT_H, CW, H, M, MIN_FONT, ROW, W, Slot, footer


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
        kept = len(flow.slots) if flow.slots is not None else 0
        w, h = c.size()
        scale = min(CW / w, CIRCUIT_H / h, 1.0)
        flow.need(h * scale + 0.1)
        left = M + (CW - w * scale) / 2
        ax = flow.fig.add_axes((left / W, (flow.y - h * scale) / H, w * scale / W, h * scale / H))
        bad = c.draw(ax, scale=max(scale, MIN_FONT), numbers=numbers, geom=scale,
                     **_slots(flow, flow.page - 1, s))
        if not bad:
            flow.y -= h * scale + 0.1
            return
        if flow.slots is not None:             # this attempt's numbers are not kept
            del flow.slots[kept:]
        ax.remove()
        if scale < 1.0 and CW / w < CIRCUIT_H / h:   # width is short: more height
            if attempt == SPREADS:                      # ... or a landscape page
                flow.text(0, "(on its own landscape page, after this sheet)", 8.5, color=GREY,
                          dy=ROW)
                flow.later.append(lambda: _landscape(flow, c, numbers, s))
                return
            c.spread(1.0, 1.25)
        else:
            c.spread()


def _slots(flow, page, s):
    """Circuit.draw's arguments that turn its numbers into the template's slots."""
    if flow.slots is None:
        return {}
    def slot(x, y, get, ha, va, size, color):
        flow.slots.append(Slot(page, x, y, ha, va, size, color, get))

    return {"defer": slot, "pad": s.digits + 4}


def _landscape(flow, c, numbers, s):
    """The circuit alone on an A4 landscape page, spread until its labels are clear."""
    from matplotlib.figure import Figure

    for _ in range(SPREADS + 1):
        fig = Figure(figsize=(H, W))
        fig.text(M / H, 1 - M / W, "The circuit", fontsize=11.5, weight="bold", va="top")
        w, h = c.size()
        scale = min((H - 2 * M) / w, (W - 2 * M - 0.5) / h, 1.0)
        ax = fig.add_axes(((H - w * scale) / 2 / H, (W - M - 0.4 - h * scale) / W,
                           w * scale / H, h * scale / W))
        kept = len(flow.slots) if flow.slots is not None else 0
        if not c.draw(ax, scale=max(scale, MIN_FONT), numbers=numbers, geom=scale,
                      **_slots(flow, flow.page, s)):
            break
        if flow.slots is not None:
            del flow.slots[kept:]
        c.spread(1.0, 1.3)                     # width is what is short: more height
    flow.page += 1
    if flow.slots is None:
        fig.text(0.5, 0.35 / W, footer(flow.label, flow.page), ha="center", fontsize=7.5, color=GREY)
    else:
        flow.slots.append(Slot(flow.page - 1, H / 2 * 72, 0.35 * 72, "center", "baseline", 7.5,
                               GREY, lambda sh, n=flow.page: footer(sh.label, n)))
    flow.pdf.savefig(fig)
