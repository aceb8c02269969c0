"""Fonts for PDFs written without matplotlib: metrics to lay text out, subsets to embed.

The fonts are the ones matplotlib ships (DejaVu for text and code, STIX for mathematics),
found on disk without importing matplotlib. A ``Font`` knows each character's glyph id and
advance (in em) and the font's ascent and descent; ``subset(name, gids)`` gives the TrueType
bytes to embed, holding every glyph of ``COMMON`` (ASCII, Greek, the sheets' symbols) and the
glyphs asked for, with their original glyph ids (so text is written with the ids ``glyph``
gives). Metrics and subsets take fontTools 20-350 ms to make, so both are kept in the disk
cache (``derive.core.disk``) and in the process.
"""
from __future__ import annotations

import functools
import io
import os
from dataclasses import dataclass, field
from importlib.util import find_spec

from derive.core import disk

FILES = {
    "sans": "DejaVuSans.ttf",
    "sans-bold": "DejaVuSans-Bold.ttf",
    "sans-oblique": "DejaVuSans-Oblique.ttf",
    "mono": "DejaVuSansMono.ttf",
    "serif": "STIXGeneral.ttf",
    "serif-italic": "STIXGeneralItalic.ttf",
    "serif-bold": "STIXGeneralBol.ttf",
}
# what sheets print: every subset holds these, so one subset of a font serves nearly every PDF
COMMON = ("".join(map(chr, range(32, 127))) + "αβγδεζηθικλμνξοπρστυφχψωΓΔΘΛΞΠΣΦΨΩ"
          + "×·⋅→←−∂≤≥…⋮√∞±²³∑∏∫′–—‖|√⁻¹⁰₀₁₂₃ ")
FALLBACK = ("sans", "serif", "mono")   # where a character missing from a font is looked for


def folder() -> str:
    """matplotlib's bundled TrueType fonts (found without importing matplotlib)."""
    spec = find_spec("matplotlib")
    return os.path.join(os.path.dirname(spec.origin), "mpl-data", "fonts", "ttf")


@dataclass
class Font:
    """One font's metrics: ``cmap`` char -> glyph id, ``adv`` glyph id -> advance in em."""

    name: str
    path: str
    base: str                          # the PostScript name
    units: int
    ascent: float                      # em, above the baseline (positive)
    descent: float                     # em, below the baseline (positive)
    cap: float                         # height of capitals, em
    bbox: tuple                        # font bounding box, em
    cmap: dict = field(repr=False)
    adv: dict = field(repr=False)
    missing: float = 0.6               # advance of glyph 0 (.notdef)

    def has(self, ch: str) -> bool:
        return ord(ch) in self.cmap

    def glyph(self, ch: str) -> int:
        return self.cmap.get(ord(ch), 0)

    def advance(self, ch: str) -> float:
        g = self.cmap.get(ord(ch))
        return self.missing if g is None else self.adv.get(g, self.missing)

    def width(self, text: str, size: float) -> float:
        """Width in points of ``text`` set at ``size`` points (no kerning)."""
        adv, cmap, miss = self.adv, self.cmap, self.missing
        return size * sum(adv.get(cmap.get(ord(c), 0), miss) for c in text)

    def unicode_of(self) -> dict:
        """glyph id -> the character it shows (the first code point mapped to it)."""
        out = {}
        for cp, g in sorted(self.cmap.items()):
            out.setdefault(g, chr(cp))
        return out


def _stamp(path: str) -> tuple:
    st = os.stat(path)
    return path, st.st_size, int(st.st_mtime)


@functools.lru_cache(maxsize=None)
def font(name: str) -> Font:
    """The metrics of one of ``FILES``, from the disk cache or read with fontTools."""
    path = os.path.join(folder(), FILES[name])
    key = disk.key("font-metrics", repr(_stamp(path)))
    got = disk.load(key)
    if isinstance(got, Font):
        return got
    made = _read(name, path)
    disk.save(key, made)
    return made


def _read(name: str, path: str) -> Font:
    from fontTools.ttLib import TTFont

    tt = TTFont(path, lazy=True)
    upm = tt["head"].unitsPerEm
    hhea, head = tt["hhea"], tt["head"]
    order = tt.getGlyphOrder()
    index = {g: i for i, g in enumerate(order)}
    cmap = {cp: index[g] for cp, g in tt.getBestCmap().items() if g in index}
    metrics = tt["hmtx"].metrics
    adv = {index[g]: m[0] / upm for g, m in metrics.items() if g in index}
    os2 = tt["OS/2"] if "OS/2" in tt else None
    cap = getattr(os2, "sCapHeight", 0) or 0.72 * upm
    return Font(name, path, tt["name"].getDebugName(6) or FILES[name].rsplit(".", 1)[0],
                upm, hhea.ascent / upm, -hhea.descent / upm, cap / upm,
                (head.xMin / upm, head.yMin / upm, head.xMax / upm, head.yMax / upm),
                cmap, adv, adv.get(0, 0.6))


def pick(name: str, ch: str) -> str:
    """The font that draws ``ch``: ``name`` if it has the glyph, else the first of
    ``FALLBACK`` that has it, else ``name`` (its .notdef box)."""
    if font(name).has(ch) or ch in "\n\t":
        return name
    for other in FALLBACK:
        if font(other).has(ch):
            return other
    return name


def runs(name: str, text: str) -> list:
    """``text`` cut into [(font name, text)] runs, each set in a font that has its glyphs."""
    out = []
    for ch in text:
        f = pick(name, ch)
        if out and out[-1][0] == f:
            out[-1][1] += ch
        else:
            out.append([f, ch])
    return [(f, t) for f, t in out]


def width(name: str, text: str, size: float) -> float:
    """Width in points of ``text`` at ``size``, each character in the font that draws it."""
    return sum(font(f).width(t, size) for f, t in runs(name, text))


def subset(name: str, gids) -> bytes:
    """TrueType bytes of font ``name`` holding COMMON's glyphs and ``gids`` (glyph ids kept)."""
    f = font(name)
    common = {f.glyph(c) for c in COMMON if f.has(c)} | {0}
    extra = tuple(sorted(set(gids) - common))
    return _subset(name, extra)


@functools.lru_cache(maxsize=64)
def _subset(name: str, extra: tuple) -> bytes:
    f = font(name)
    key = disk.key("font-subset", repr(_stamp(f.path)), COMMON, repr(extra))
    got = disk.load(key)
    if isinstance(got, bytes):
        return got
    import logging

    from fontTools import subset as fts
    from fontTools.ttLib import TTFont

    logging.getLogger("fontTools").setLevel(logging.ERROR)
    opts = fts.Options()
    opts.retain_gids = True
    opts.notdef_outline = True
    opts.name_IDs = ["*"]
    opts.drop_tables += ["GSUB", "GPOS", "GDEF", "kern", "FFTM", "BASE", "JSTF", "MATH"]
    opts.layout_features = []
    opts.hinting = False
    tt = TTFont(f.path, recalcTimestamp=False)      # same font, same bytes (no save time)
    sub = fts.Subsetter(opts)
    sub.populate(unicodes=[ord(c) for c in COMMON if f.has(c)], gids=list(extra))
    sub.subset(tt)
    buf = io.BytesIO()
    tt.save(buf)
    data = buf.getvalue()
    disk.save(key, data)
    return data
