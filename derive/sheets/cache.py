"""Font work done once per process: mathtext parses and font subsets shared between pages.

matplotlib caches a mathtext parse per parser object, and every renderer has its own, so the
same formula is parsed again for each page and for measuring; it subsets and re-saves each
font for every PDF. A class set prints the same formulas and the same glyphs hundreds of
times, so ``share_font_work()`` keys both caches by what determines the result (the
formula, size, font and output kind; the font file and glyph set) and keeps them for the
process. Output bytes are unchanged. If matplotlib's internals differ from what is expected
here, nothing is patched.
"""
from __future__ import annotations

import io

MAX_ENTRIES = 4096
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


def _share_subsets():
    from matplotlib.backends import _backend_pdf_ps as pdfps

    original = getattr(pdfps, "get_glyphs_subset", None)
    if original is None or not hasattr(pdfps, "font_as_file"):
        return
    store = {}

    def subset(fontfile, glyphs):
        key = (str(fontfile), getattr(fontfile, "face_index", 0), tuple(sorted(glyphs)))
        if key not in store:
            with original(fontfile, glyphs) as sub:
                fh = io.BytesIO()
                sub.font.save(fh, reorderTables=False)
                store[key] = (fh.getvalue(), dict(sub.glyph_index_map))
            if len(store) >= MAX_ENTRIES:
                store.clear()
        return _Subset(*store[key])

    pdfps.get_glyphs_subset = subset
