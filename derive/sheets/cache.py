"""Font work done once per process: mathtext parses and font subsets shared between pages.

matplotlib caches a mathtext parse per parser object, and every renderer has its own, so the
same formula is parsed again for each page and for measuring; it subsets and re-saves each
font for every PDF. A class set prints the same formulas and the same glyphs hundreds of
times, so ``share_font_work()`` keys both caches by what determines the result (the
formula, size, font and output kind; the font file and glyph set) and keeps them for the
process. A subset also leaves out the fonts' layout tables (GSUB, GPOS, kern...): a PDF
places every glyph itself, and decoding DejaVu's kerning tables was most of the time of
embedding a font (0.25 s of 0.3 s, six fonts a sheet). Every subset holds the glyphs of
``COMMON`` (ASCII, Greek, the sheets' symbols) besides those a sheet uses, so one subset of
each font serves nearly every sheet: made once a process, and kept in the disk cache
(``derive.core.disk``) for the next. If matplotlib's internals differ from what is expected here, nothing
is patched.
"""
from __future__ import annotations

import functools
import io
import multiprocessing
import os

MAX_ENTRIES = 4096
# tables a PDF viewer never reads from an embedded TrueType font: OpenType layout (the PDF
# positions each glyph) and those matplotlib already drops
LAYOUT = ["GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH", "kern", "morx", "kerx", "feat", "trak",
          "just", "FFTM", "PfEd", "BDF", "meta", "MERG", "TSIV", "Zapf", "bdat", "bloc", "cidg",
          "fdsc", "fmtx", "fond", "ltag", "xref"]
# what sheets print: ASCII, the Greek alphabet, the sheets' symbols (a subset holds these)
COMMON = ("".join(map(chr, range(32, 127))) + "αβγδεζηθικλμνξοπρστυφχψωΓΔΘΛΞΠΣΦΨΩ"
          + "×·⋅→−∂≤≥…⋮√∞±²³∑∏∫′ﬀﬁﬂﬃﬄ")
_done = False


def share_font_work():
    global _done
    if _done:
        return
    _done = True
    _share_mathtext()
    _share_subsets()


def _share_mathtext():
    from matplotlib import mathtext

    cached = getattr(mathtext.MathTextParser, "_parse_cached", None)
    inner = getattr(cached, "__wrapped__", None)
    if inner is None:
        return
    store = {}

    def parse(self, *key):
        k = (self._output_type, *key)
        if k not in store:
            if len(store) >= MAX_ENTRIES:
                store.clear()
            store[k] = inner(self, *key)
        return store[k]

    mathtext.MathTextParser._parse_cached = parse


class _Saved:
    """A subset font already saved: ``font_as_file`` only calls ``save``."""

    def __init__(self, data: bytes):
        self.data = data

    def save(self, fh, reorderTables=False):
        fh.write(self.data)


class _Subset:
    def __init__(self, data, index_map):
        self.font, self.glyph_index_map = _Saved(data), index_map

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_STORE: dict = {}         # (font path, face, glyphs) -> (subset bytes, glyph map)
_PENDING: dict = {}       # the same keys -> a worker making them (``prefetch``)
FONTS = ({}, {"weight": "bold"}, {"style": "oblique"}, {"family": "DejaVu Sans Mono"})


def _share_subsets():
    from matplotlib.backends import _backend_pdf_ps as pdfps

    if not hasattr(pdfps, "get_glyphs_subset") or not hasattr(pdfps, "font_as_file"):
        return

    def subset(fontfile, glyphs):
        glyphs = set(glyphs) | _common_glyphs(str(fontfile), getattr(fontfile, "face_index", 0))
        key = (str(fontfile), getattr(fontfile, "face_index", 0), tuple(sorted(glyphs)))
        if key not in _STORE and key in _PENDING:
            _collect(_PENDING.pop(key))
        if key not in _STORE:
            if len(_STORE) >= MAX_ENTRIES:
                _STORE.clear()
            _STORE[key] = _disk_subset(fontfile, glyphs, key)
        return _Subset(*_STORE[key])

    pdfps.get_glyphs_subset = subset


def prefetch():
    """Start making the common subsets (``COMMON``) of a sheet's fonts (DejaVu Sans regular,
    bold and oblique, DejaVu Sans Mono) in a forked worker, on the other core while the sheet
    is drawn, unless this process or the disk cache has them: the first sheet of a process
    then waits for them, if at all, only when its PDF is written."""
    from matplotlib.font_manager import FontProperties, findfont

    from derive.core import disk
    from derive.symbolic.budget import start

    if not _done:
        return
    want = []
    for props in FONTS:
        path = findfont(FontProperties(**{"family": "DejaVu Sans", **props}), fallback_to_default=False)
        key = (str(path), 0, tuple(sorted(_common_glyphs(str(path), 0))))
        if key in _STORE or key in _PENDING or not key[2]:
            continue
        found = disk.load(_disk_key(key))
        if isinstance(found, tuple) and len(found) == 2:
            _STORE[key] = found
        else:
            want.append(key)
    if want and not multiprocessing.current_process().daemon:   # a pool's worker: no children
        try:
            job = start(60.0, _make_subsets, want)
        except (OSError, ValueError, AssertionError):     # no process to spare: made when needed
            return
        _PENDING.update({k: job for k in want})


def collect_all():
    """Wait for every prefetching worker (before this process forks drawing processes)."""
    for job in {id(j): j for j in _PENDING.values()}.values():
        _collect(job)


def _make_subsets(keys) -> dict:
    """In the worker: {key: (subset bytes, glyph map)}."""
    return {k: _subset_font(k[0], set(k[2])) for k in keys}


def _collect(job):
    """A prefetching worker's subsets into this process's store and the disk cache."""
    from derive.core import disk

    out = job.wait()
    for k, made in (out.value.items() if out.ok else ()):
        _STORE[k] = made
        disk.save(_disk_key(k), made)
    for k in [k for k, j in _PENDING.items() if j is job]:
        del _PENDING[k]


def _disk_key(key):
    from derive.core import disk

    st = os.stat(key[0])
    return disk.key("font", repr(key), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _common_glyphs(path: str, face: int) -> frozenset:
    """The glyphs of ``COMMON`` in a font: every subset of it holds them, so that one subset
    serves every sheet (in this process and from the disk cache) instead of one per glyph set."""
    from matplotlib.font_manager import get_font

    try:
        font = get_font(path) if not face else None
    except (OSError, RuntimeError, ValueError):
        font = None
    if font is None:
        return frozenset()
    return frozenset(g for g in (font.get_char_index(ord(c)) for c in COMMON) if g)


def _disk_subset(fontfile, glyphs, key):
    """A subset from the disk cache (``derive.core.disk``; keyed by the font file's path,
    size and time and the glyphs), else made and stored: a sheet at other numbers, or another
    sheet, mostly needs the glyphs of one before."""
    from derive.core import disk

    try:
        name = _disk_key(key)
    except (OSError, TypeError):
        return _subset_font(fontfile, glyphs)
    found = disk.load(name)
    if isinstance(found, tuple) and len(found) == 2:
        return found
    made = _subset_font(fontfile, glyphs)
    disk.save(name, made)
    return made


def _subset_font(fontfile, glyphs):
    """matplotlib's ``get_glyphs_subset`` without the layout tables: (font bytes, glyph map)."""
    from fontTools import subset

    options = subset.Options(glyph_names=True, recommended_glyphs=True)
    options.drop_tables += LAYOUT
    options.font_number = getattr(fontfile, "face_index", 0)
    with subset.load_font(fontfile, options) as font:
        sub = subset.Subsetter(options=options)
        sub.populate(gids=glyphs)
        sub.subset(font)
        fh = io.BytesIO()
        font.save(fh, reorderTables=False)
    return fh.getvalue(), dict(sub.glyph_index_map)
