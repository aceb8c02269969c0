"""Typesetting of the sheets' LaTeX into a Box of positioned glyphs and rules (no matplotlib).

``typeset(tex, size)`` lays out what goes between ``$...$`` (the subset ``mathparse`` reads:
scripts, fractions, roots, stretched \\left( \\right), Greek, operators, upright names) at
``size`` points in text style, after TeX's rules simplified: scripts at 70% (nested 50%),
numerator and denominator one style smaller (never under 60% of ``size``), fraction bars and
stretched delimiters centred on the math axis (the middle of the minus sign), TeX's spacing
between ord, op, bin, rel, open, close and punct atoms (a binary minus gets medium spaces, a
unary one none). Letters are STIX italic, digits, operators and names upright STIX; the text
layer carries what is shown: minus is U+2212, ``\\cdot`` U+22C5 (dot operator), ``\\partial``
U+2202. Heights and depths come from the glyphs' real ink bounds, read from the TrueType
``glyf`` headers once per font and process (about 5 ms, no fontTools). ``MathError`` (a
ValueError) is raised on anything unsupported; callers fall back to code text.

Results are cached per (tex, size): ``typeset`` returns a fresh ``Box`` each call (its lists
are new, its Glyph and Rule items are frozen), so a caller may change it freely.
"""
from __future__ import annotations

import functools
import struct

from derive.pdf import fonts
from derive.pdf.boxes import Box, Glyph, Rule
from derive.pdf.mathparse import MathError, parse

__all__ = ["typeset", "width", "MathError", "ink"]

FACTOR = (1.0, 1.0, 0.7, 0.5)      # size of the styles display, text, script, scriptscript
MIN_FRACTION = 0.6                  # numerators and denominators never smaller than this
THETA = 0.05                        # rule thickness (fraction bars, roots), em
SUP_RAISE = (0.45, 0.42, 0.36, 0.36)   # superscript shift per style, em (cramped: 0.33)
SUB_DROP = 0.2                      # subscript shift alone, em (0.25 with a superscript)
SCRIPT_SPACE = 0.05                 # after a script, em
NULL_DELIM = 0.12                   # \left. and the sides of a fraction, em
CACHE_CHARS = 4000                  # longer formulas are laid out each time (memory)

# TeX's spacing between classes in mu (1/18 em); in brackets: not in script styles
_TABLE = """ord op bin rel open close punct inner
ord    0 1 (2) (3) 0 0 0 (1)
op     1 1  0  (3) 0 0 0 (1)
bin   (2) (2) 0 0 (2) 0 0 (2)
rel   (3) (3) 0 0 (3) 0 0 (3)
open   0 0 0 0 0 0 0 0
close  0 1 (2) (3) 0 0 0 (1)
punct (1) (1) 0 (1) (1) (1) (1) (1)
inner (1) 1 (2) (3) (1) 0 (1) (1)""".splitlines()
_SPACING = {(row.split()[0], col): ((3, 3, 4, 5)[int(v.strip("()"))] / 18, "(" not in v)
            for row in _TABLE[1:] for col, v in zip(_TABLE[0].split(), row.split()[1:])
            if v.strip("()") != "0"}
_BIN_AFTER = frozenset((None, "bin", "op", "rel", "open", "punct"))   # a bin here is unary
_BIN_BEFORE = frozenset(("rel", "close", "punct"))


# ---- glyph ink bounds -------------------------------------------------------------------
def _read_bounds(path: str) -> dict:
    """glyph id -> (xMin, yMin, xMax, yMax) in font units, from the glyf headers of a
    TrueType file (parsed directly: a few ms, no fontTools)."""
    try:
        with open(path, "rb") as fh:
            return _glyf(fh.read())
    except (OSError, struct.error):            # unreadable: ``ink`` uses the font's box
        return {}


def _glyf(data: bytes) -> dict:
    n = struct.unpack_from(">H", data, 4)[0]
    tables = {}
    for k in range(n):
        tag, _, off, length = struct.unpack_from(">4sIII", data, 12 + 16 * k)
        tables[tag] = (off, length)
    if not {b"head", b"maxp", b"loca", b"glyf"} <= tables.keys():
        return {}                              # not TrueType outlines
    head = tables[b"head"][0]
    long_loca = struct.unpack_from(">h", data, head + 50)[0] == 1
    glyphs = struct.unpack_from(">H", data, tables[b"maxp"][0] + 4)[0]
    loca, glyf = tables[b"loca"][0], tables[b"glyf"][0]
    if long_loca:
        offs = struct.unpack_from(f">{glyphs + 1}I", data, loca)
    else:
        offs = [2 * o for o in struct.unpack_from(f">{glyphs + 1}H", data, loca)]
    out = {}
    for g in range(glyphs):
        if offs[g + 1] > offs[g]:
            out[g] = struct.unpack_from(">4h", data, glyf + offs[g] + 2)
    return out


@functools.lru_cache(maxsize=None)
def _bounds(name: str) -> dict:
    """The ink bounds of every glyph of font ``name`` (glyph id -> font units), read once per
    process (about 5 ms a font: no disk cache needed)."""
    return _read_bounds(fonts.font(name).path)


@functools.lru_cache(maxsize=4096)
def ink(name: str, ch: str) -> tuple:
    """(xMin, yMin, xMax, yMax) of ``ch``'s ink in font ``name``, in em; zeros for blank glyphs."""
    f = fonts.font(name)
    table = _bounds(name)
    if not table:
        return (0.0, -f.descent, f.advance(ch), f.ascent)
    b = table.get(f.glyph(ch))
    return (0.0, 0.0, 0.0, 0.0) if b is None else tuple(v / f.units for v in b)


@functools.lru_cache(maxsize=None)
def _axis() -> float:
    """The math axis, em above the baseline: the middle of the minus sign (fraction bars and
    stretched delimiters are centred on it)."""
    b = ink("serif", "−")
    return (b[1] + b[3]) / 2


# ---- boxes under construction ------------------------------------------------------------
class _H:
    """A box being built: ``items`` are (x, y, font, char, size, sy) glyphs, (x, y, w, h) rules
    and (x, y, _H) boxes, placed relative to this box's origin."""

    __slots__ = ("w", "h", "d", "items")

    def __init__(self, w=0.0, h=0.0, d=0.0, items=None):
        self.w, self.h, self.d, self.items = w, h, d, items if items is not None else []

    def put(self, x, y, box):
        self.items.append((x, y, box))
        self.h = max(self.h, y + box.h)
        self.d = max(self.d, box.d - y)


@functools.lru_cache(maxsize=8192)
def _char(font: str, ch: str, size: float) -> _H:
    """One character: its width covers its ink (italic overhangs included)."""
    name = fonts.pick(font, ch)
    if not fonts.font(name).has(ch):
        raise MathError(f"no font draws the character {ch!r}: write it another way")
    x0, y0, x1, y1 = ink(name, ch)
    off = -x0 if x0 < 0 else 0.0
    w = (off + max(fonts.font(name).advance(ch), x1)) * size
    return _H(w, max(y1, 0.0) * size, max(-y0, 0.0) * size, [(off * size, 0.0, name, ch, size, 1.0)])


def _delim(ch: str, size: float, total: float) -> _H:
    """Delimiter ``ch`` whose ink spans at least ``total`` points, centred on the axis when it
    has to be stretched (Glyph.sy > 1: scaled vertically about its baseline)."""
    if not ch:
        return _H(NULL_DELIM * size)
    base = _char("serif", ch, size)
    x0, y0, x1, y1 = ink(base.items[0][2], ch)
    natural = (y1 - y0) * size
    if total <= natural or natural <= 0:
        return base
    sy = total / natural
    bottom = _axis() * size - total / 2
    y = bottom - y0 * size * sy
    gx, _, name, _, _, _ = base.items[0]
    return _H(base.w, bottom + total, -bottom, [(gx, y, name, ch, size, sy)])


# ---- layout ------------------------------------------------------------------------------
def _hlist(atoms, style, size, cramp, root) -> _H:
    """A math list laid out left to right, with TeX's spacing between its atoms."""
    seq = []                       # [cls, rcls, box] or [None, None, kern box]
    for a in atoms:
        if a.kind == "style":
            style = a.data
            size = root * FACTOR[style]
            continue
        if a.kind == "space":
            seq.append([None, None, _H(a.data * size)])
            continue
        box = _nucleus(a, style, size, cramp, root)
        if a.sup is not None or a.sub is not None:
            box = _scripts(box, a, style, size, cramp, root)
        seq.append([a.cls, a.rcls, box])
    prev = None
    for item in seq:                          # TeX's rule: a bin that cannot be binary is ord
        if item[0] is None:
            continue
        if item[0] == "bin" and (prev is None or prev[1] in _BIN_AFTER):
            item[0] = item[1] = "ord"
        elif item[0] in _BIN_BEFORE and prev is not None and prev[1] == "bin":
            prev[0] = prev[1] = "ord"
        prev = item
    if prev is not None and prev[1] == "bin":
        prev[0] = prev[1] = "ord"
    out, prev = _H(), None
    small = style >= 2
    for cls, rcls, box in seq:
        if cls is not None:
            if prev is not None:
                mu, always = _SPACING.get((prev, cls), (0.0, True))
                if mu and (always or not small):
                    out.w += mu * size
            prev = rcls
        if box.items or box.w:
            out.put(out.w, 0.0, box)
        out.w += box.w
    return out


def _nucleus(a, style, size, cramp, root) -> _H:
    kind = a.kind
    if kind == "char":
        ch, font = a.data
        return _char(font, ch, size)
    if kind == "word":
        return _row([_char(a.data[1], ch, size) for ch in a.data[0]])
    if kind == "list":
        return _hlist(a.data, style, size, cramp, root)
    if kind == "frac":
        return _frac(a.data, style, size, cramp, root)
    if kind == "sqrt":
        return _sqrt(a.data, style, size, root)
    if kind == "lr":
        left, body, right = a.data
        inner = _hlist(body, style, size, cramp, root)
        axis = _axis() * size
        half = max(inner.h - axis, inner.d + axis)
        total = 2 * half - 0.2 * size         # TeX's shortfall (0.5 em there) made small
        return _row((_delim(left, size, total), inner, _delim(right, size, total)))
    if kind == "big":
        return _delim(a.data[0], size, a.data[1] * size)
    if kind == "accent":
        return _accent(a.data, style, size, cramp, root)
    if kind in ("overline", "underline"):
        body = _hlist(a.data, style, size, cramp, root)
        t = THETA * size
        out = _H(body.w)
        out.put(0.0, 0.0, body)
        y = body.h + 2.5 * t if kind == "overline" else -body.d - 3.5 * t
        _rule(out, 0.0, y, body.w, t)
        return out
    raise MathError(f"cannot typeset {kind}")


def _row(parts) -> _H:
    out = _H()
    for part in parts:
        out.put(out.w, 0.0, part)
        out.w += part.w
    return out


def _rule(box, x, y, w, h):
    box.items.append((x, y, w, h))
    box.h = max(box.h, y + h)
    box.d = max(box.d, -y)


def _scripts(base, a, style, size, cramp, root) -> _H:
    st = 2 if style <= 1 else 3
    ssize = min(size, root * FACTOR[st])
    out = _H(base.w)
    out.put(0.0, 0.0, base)
    sup = _hlist(a.sup, st, ssize, cramp, root) if a.sup is not None else None
    sub = _hlist(a.sub, st, ssize, True, root) if a.sub is not None else None
    xheight = 0.45 * size
    u = v = 0.0
    if sup is not None:
        raise_ = 0.33 if cramp else SUP_RAISE[style]
        u = max(raise_ * size, base.h - 0.386 * ssize, sup.d + xheight / 4)
    if sub is not None:
        v = max((SUB_DROP if sup is None else 0.25) * size, base.d + 0.05 * ssize,
                sub.h - 0.8 * xheight)
    if sup is not None and sub is not None:
        gap = (u - sup.d) - (sub.h - v)
        if gap < 4 * THETA * size:
            v += 4 * THETA * size - gap
            lift = 0.8 * xheight - (u - sup.d)
            if lift > 0:
                u += lift
                v -= lift
    width = 0.0
    if sup is not None:
        out.put(base.w, u, sup)
        width = sup.w
    if sub is not None:
        out.put(base.w, -v, sub)
        width = max(width, sub.w)
    out.w = base.w + width + SCRIPT_SPACE * size
    return out


def _frac(data, style, size, cramp, root) -> _H:
    num, den, force = data
    if force is not None:
        style = force
        size = root * FACTOR[style] if style >= 2 else max(size, root * FACTOR[style])
    st = min(style + 1, 3)
    fsize = min(size, max(root * FACTOR[st], MIN_FRACTION * root))
    n = _hlist(num, st, fsize, cramp, root)
    d = _hlist(den, st, fsize, True, root)
    t = THETA * size
    axis = _axis() * size
    display = style == 0
    u = (0.677 if display else 0.394) * size
    v = (0.686 if display else 0.345) * size
    phi = (3.0 if display else 1.5) * t
    u = max(u, axis + t / 2 + phi + n.d)
    v = max(v, d.h + phi - axis + t / 2)
    bar = max(n.w, d.w) + 0.1 * size
    side = 0.06 * size
    out = _H(bar + 2 * side)
    out.put(side + (bar - n.w) / 2, u, n)
    out.put(side + (bar - d.w) / 2, -v, d)
    _rule(out, side, axis - t / 2, bar, t)
    return out


def _sqrt(data, style, size, root) -> _H:
    body, index = data
    inner = _hlist(body, style, size, True, root)
    t = THETA * size
    phi = (t + 0.25 * 0.45 * size) if style == 0 else 2 * t
    top = inner.h + phi + t                    # top of the bar
    bottom = -(inner.d + phi)
    sign = _char("serif", "√", size)
    gx, _, name, _, _, _ = sign.items[0]
    x0, y0, x1, y1 = ink(name, "√")
    sy = max((top - bottom) / ((y1 - y0) * size), 0.75)
    y = top - y1 * size * sy
    out = _H()
    if index is not None:                      # \sqrt[n]: n small, over the sign's tick
        st = 3
        small = _hlist(index, st, min(size, root * FACTOR[st]), False, root)
        low = y + y0 * size * sy
        out.put(0.0, low + 0.6 * (top - low) + small.d, small)
        gx += max(0.0, small.w - 0.55 * sign.w)
    out.items.append((gx, y, name, "√", size, sy))
    out.h, out.d = max(out.h, top), max(out.d, -(y + y0 * size * sy))
    right = gx + x1 * size                     # where the sign's stroke ends
    _rule(out, right - 0.02 * size, top - t, inner.w + 0.12 * size, t)
    out.put(right + 0.06 * size, 0.0, inner)
    out.w = right + inner.w + 0.12 * size
    return out


def _accent(data, style, size, cramp, root) -> _H:
    ch, body = data
    inner = _hlist(body, style, size, True, root)
    mark = _char("serif", ch, size * (0.7 if ch == "→" else 1.0))
    x0, y0, x1, y1 = ink(mark.items[0][2], ch)
    msize = mark.items[0][4]
    lift = max(0.0, inner.h + 0.08 * size - y0 * msize)
    out = _H(max(inner.w, mark.w))
    out.put((out.w - inner.w) / 2, 0.0, inner)
    out.put((out.w - mark.w) / 2, lift, mark)
    return out


# ---- the result --------------------------------------------------------------------------
def _flatten(box, x, y, glyphs, rules):
    """Every glyph and rule of ``box`` at page-free coordinates, in drawing order."""
    for it in box.items:
        if len(it) == 3:
            _flatten(it[2], x + it[0], y + it[1], glyphs, rules)
        elif len(it) == 6:
            glyphs.append(Glyph(it[2], it[3], x + it[0], y + it[1], it[4], it[5]))
        else:
            rules.append(Rule(x + it[0], y + it[1], it[2], it[3]))


def _layout(tex, size) -> tuple:
    """(width, height, depth, glyphs, rules); formulas up to CACHE_CHARS long are cached."""
    if isinstance(tex, str) and len(tex) <= CACHE_CHARS:
        return _cached(tex, size)
    return _lay(tex, size)


@functools.lru_cache(maxsize=4096)
def _cached(tex: str, size: float) -> tuple:
    return _lay(tex, size)


def _lay(tex, size) -> tuple:
    if isinstance(size, bool) or not isinstance(size, (int, float)) or not 0 < size < 1e4:
        raise MathError(f"font size must be a positive number of points, not {size!r}")
    atoms = parse(tex)
    box = _hlist(atoms, 1, float(size), False, float(size))
    glyphs, rules = [], []
    _flatten(box, 0.0, 0.0, glyphs, rules)
    left = min([0.0] + [g.x + min(ink(g.font, g.char)[0], 0.0) * g.size for g in glyphs]
               + [r.x for r in rules])
    right = max([box.w] + [g.x + max(ink(g.font, g.char)[2], fonts.font(g.font).advance(g.char))
                           * g.size for g in glyphs] + [r.x + r.w for r in rules])
    if left < 0:                               # a negative space (\!) at the start
        glyphs = [Glyph(g.font, g.char, g.x - left, g.y, g.size, g.sy) for g in glyphs]
        rules = [Rule(r.x - left, r.y, r.w, r.h) for r in rules]
        right -= left
    return max(right, 0.0), box.h, box.d, tuple(glyphs), tuple(rules)


def typeset(tex: str, size: float) -> Box:
    """``tex`` (math-mode LaTeX, with or without surrounding ``$``) set at ``size`` points: a
    new Box (origin at the left end of the baseline). MathError if it holds anything unsupported."""
    w, h, d, glyphs, rules = _layout(tex, size)
    return Box(w, h, d, list(glyphs), list(rules))


def width(tex: str, size: float) -> float:
    """Width in points of ``tex`` set at ``size``."""
    return _layout(tex, size)[0]
