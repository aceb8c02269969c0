"""PDF syntax for the page writer: numbers, colours, paths, strings, the file and its fonts.

``num`` writes a coordinate, ``paint`` a colour operator, ``circle`` a circle's path; ``Writer``
numbers objects and lays out the file (header, objects, xref table with byte offsets, trailer);
``font_objects`` writes one font as a Type0 font (CIDFontType2, Identity-H, CIDToGIDMap
/Identity, glyph ids as codes) with its widths, font descriptor, TrueType subset and a ToUnicode
CMap, so text extracted from the PDF is the text shown. Everything is deterministic: the same
input gives the same bytes.
"""
from __future__ import annotations

import functools
import hashlib
import math
import struct
import zlib

from derive.core.errors import DeriveError
from derive.pdf import fonts

INF = (math.inf, -math.inf)
HEX = frozenset("0123456789abcdefABCDEF")
KAPPA = 0.5522847498            # Bezier handle length of a quarter circle (radius 1)
LEVEL = 6                                   # zlib level of every stream


@functools.lru_cache(maxsize=16384)          # pages repeat their coordinates
def num(v) -> str:
    """A PDF number: at most three decimals, no trailing zeros, no ``-0``."""
    if v != v or v in INF:
        raise DeriveError(f"cannot draw at a coordinate of {v}: give finite numbers")
    s = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def paint(color, op):
    """The operator setting ``color`` ("#rrggbb"): gray (``G``/``g``) when r == g == b, else RGB."""
    if color is None:
        return None
    try:
        return _color(color, op)
    except TypeError:
        raise DeriveError(f"colour {color!r} is not #rrggbb: write one such as '#222222'") from None


@functools.lru_cache(maxsize=1024)
def _color(color, op):
    if not (isinstance(color, str) and len(color) == 7 and color[0] == "#"
            and all(c in HEX for c in color[1:])):
        raise DeriveError(f"colour {color!r} is not #rrggbb: write one such as '#222222'")
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    if r == g == b:
        return f"{num(r / 255)} {op}"
    return f"{num(r / 255)} {num(g / 255)} {num(b / 255)} {'RG' if op == 'G' else 'rg'}"


def circle(cx, cy, r):
    """A circle as four Bezier curves, counter-clockwise from its rightmost point."""
    k = KAPPA * r
    parts = [f"{num(cx + r)} {num(cy)} m"]
    for (ax, ay), (bx, by), (px, py) in (
            ((r, k), (k, r), (0, r)), ((-k, r), (-r, k), (-r, 0)),
            ((-r, -k), (-k, -r), (0, -r)), ((k, -r), (r, -k), (r, 0))):
        parts.append(f"{num(cx + ax)} {num(cy + ay)} {num(cx + bx)} {num(cy + by)} "
                     f"{num(cx + px)} {num(cy + py)} c")
    return " ".join(parts) + " h"


def text_string(s: str) -> str:
    """A PDF text string: ``(ascii)`` escaped, else UTF-16BE with its byte order mark in hex."""
    if all(32 <= ord(c) < 127 for c in s):
        return "(" + s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"
    return "<FEFF" + s.encode("utf-16-be").hex().upper() + ">"


def stream(head: str, data: bytes, compress: bool = True) -> bytes:
    """A stream object's body; ``head`` holds extra dictionary entries (``compress=False``:
    ``data`` is written as given, already compressed if ``head`` says so)."""
    if compress:
        data = zlib.compress(data, LEVEL)
        head += " /Filter /FlateDecode"
    return (f"<< {head} /Length {len(data)} >>\nstream\n").encode() + data + b"\nendstream"


class Writer:
    """Objects numbered from 1 in the order they are reserved; ``bytes`` lays the file out."""

    def __init__(self):
        self.objects: list = []

    def reserve(self) -> int:
        self.objects.append(None)
        return len(self.objects)

    def put(self, ref: int, body) -> int:
        self.objects[ref - 1] = body.encode() if isinstance(body, str) else body
        return ref

    def add(self, body) -> int:
        return self.put(self.reserve(), body)

    def bytes(self, root: int, info: int) -> bytes:
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for i, body in enumerate(self.objects, 1):
            offsets.append(len(out))
            out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
        start = len(out)
        out += f"xref\n0 {len(offsets) + 1}\n0000000000 65535 f \n".encode()
        out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
        ident = hashlib.md5(bytes(out)).hexdigest().upper()
        out += (f"trailer\n<< /Size {len(offsets) + 1} /Root {root} 0 R /Info {info} 0 R "
                f"/ID [<{ident}> <{ident}>] >>\nstartxref\n{start}\n%%EOF\n").encode()
        return bytes(out)


def _table(data: bytes, tag: bytes):
    """The bytes of one table of a TrueType file (``None`` if absent)."""
    count = struct.unpack(">H", data[4:6])[0]
    for i in range(count):
        rec = data[12 + 16 * i: 28 + 16 * i]
        if rec[:4] == tag:
            off, length = struct.unpack(">II", rec[8:16])
            return data[off:off + length]
    return None


def _style(data: bytes) -> tuple:
    """(italic angle in degrees, weight class) read from the font's ``post`` and ``OS/2``."""
    post, os2 = _table(data, b"post"), _table(data, b"OS/2")
    angle = struct.unpack(">i", post[4:8])[0] / 65536 if post else 0.0
    weight = struct.unpack(">H", os2[4:6])[0] if os2 else 400
    return angle, weight


@functools.lru_cache(maxsize=32)
def _program(data: bytes) -> tuple:
    """(compressed font program, its length, subset tag, italic angle, weight class) of one
    subset (documents using the same subset share one entry: ``fonts.subset`` keeps its bytes)."""
    tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(data).digest()[:6])
    return zlib.compress(data, LEVEL), len(data), tag, *_style(data)


def _widths(font: fonts.Font, gids) -> str:
    """The ``/W`` array: runs of consecutive glyph ids with their advances (1000 units/em)."""
    parts, run, last = [], [], None
    for g in sorted(gids):
        if last is not None and g != last + 1:
            parts.append(f"{run[0]} [{' '.join(str(w) for w in run[1:])}]")
            run = []
        if not run:
            run = [g]
        run.append(round(1000 * font.adv.get(g, font.missing)))
        last = g
    if run:
        parts.append(f"{run[0]} [{' '.join(str(w) for w in run[1:])}]")
    return "[" + " ".join(parts) + "]"


def _utf16(ch: str) -> str:
    return ch.encode("utf-16-be").hex().upper()


@functools.lru_cache(maxsize=256)
def to_unicode(items: tuple) -> bytes:
    """A ToUnicode CMap stream: each (glyph id (two-byte code), the character drawn with it)."""
    lines = ["/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
             "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
             "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
             "1 begincodespacerange", "<0000> <FFFF>", "endcodespacerange"]
    for i in range(0, len(items), 100):
        block = items[i:i + 100]
        lines.append(f"{len(block)} beginbfchar")
        lines += [f"<{g:04X}> <{_utf16(ch)}>" for g, ch in block]
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return stream("", ("\n".join(lines) + "\n").encode())


def font_objects(w: Writer, ref: int, name: str, chars: dict) -> None:
    """Write font ``name`` as object ``ref`` (Type0) and its parts; ``chars``: glyph id ->
    the character drawn with it (every glyph the document uses from this font)."""
    font = fonts.font(name)
    gids = sorted(set(chars) | {0})
    data, length1, tag, angle, weight = _program(fonts.subset(name, gids))
    base = f"{tag}+{font.base.replace(' ', '')}"
    flags = 4 | (1 if name == "mono" else 0) | (2 if name.startswith("serif") else 0) \
        | (64 if angle else 0)
    stemv = round(50 + (weight / 65) ** 2)
    em = [round(1000 * v) for v in font.bbox]
    file_ref = w.add(stream(f"/Length1 {length1} /Filter /FlateDecode", data, compress=False))
    desc = w.add(f"<< /Type /FontDescriptor /FontName /{base} /Flags {flags} "
                 f"/FontBBox [{' '.join(map(str, em))}] /ItalicAngle {num(angle)} "
                 f"/Ascent {round(1000 * font.ascent)} /Descent {-round(1000 * font.descent)} "
                 f"/CapHeight {round(1000 * font.cap)} /StemV {stemv} /FontFile2 {file_ref} 0 R >>")
    cid = w.add(f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{base} "
                "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
                f"/FontDescriptor {desc} 0 R /DW {round(1000 * font.missing)} "
                f"/W {_widths(font, gids)} /CIDToGIDMap /Identity >>")
    cmap = w.add(to_unicode(tuple(sorted((g, c) for g, c in chars.items() if g))))
    w.put(ref, f"<< /Type /Font /Subtype /Type0 /BaseFont /{base} /Encoding /Identity-H "
               f"/DescendantFonts [{cid} 0 R] /ToUnicode {cmap} 0 R >>")
