"""Sheets as markup: LaTeX source (``--tex``) and Typst source compiled with the optional ``typst``.

Both read the same :class:`derive.sheet.Sheet` as the matplotlib engine. LaTeX comes from
derive's ``LatexPrinter`` (already in the sheet); Typst math comes from ``TypstPrinter``, a
small SymPy printer. The circuit is embedded as a file written next to the source.
"""
from __future__ import annotations

import os
import re
import tempfile

import sympy as sp
from sympy.printing.str import StrPrinter

from derive.core.errors import DeriveError
from derive.core.rules import RULES, derived
from derive.sheets.tex import tex_name as latex_name
from derive.sheets.tex import tex_tokens
from derive.circuit.draw import write_bytes

#: SymPy class name -> Typst spelling, from the rows (others print as upright text).
_TYPST = derived(lambda: {t.__name__: r.typst for r in RULES.values() for t in r.sympy_types if r.typst})

LATEX_HEAD = r"""\documentclass[a4paper,10pt]{article}
\usepackage[margin=2cm]{geometry}
\usepackage{amsmath,graphicx,longtable,booktabs}
\usepackage[table]{xcolor}
\ifdefined\pdfinfoomitdate \pdfinfoomitdate=1 \pdftrailerid{} \pdfsuppressptexinfo=-1 \fi
\definecolor{val}{HTML}{1A7F37}\definecolor{grad}{HTML}{C62828}
\setlength{\parindent}{0pt}
\begin{document}
"""


def _tt(s: str) -> str:
    return r"\texttt{" + re.sub(r"([#$%&_{}])", r"\\\1", s).replace("**", "{*}{*}") + "}"


def _blank_tex(cond, text, color):
    return r"\rule{3cm}{0.4pt}" if cond else rf"\textcolor{{{color}}}{{{_tt(text)}}}"


def latex_source(sheets, circuit_files=()) -> str:
    """One LaTeX document with every sheet (each on new pages)."""
    out = [LATEX_HEAD]
    for i, s in enumerate(sheets):
        vals, forms = "values" in s.blank, "formulas" in s.blank
        out.append(r"\section*{Derivation sheet" + (f" --- {s.label}" if s.label else "") + "}")
        name, args = s.title.split("(", 1)
        out.append(rf"\[ {latex_name(name)}({args} = {s.function_tex} \]")
        if s.point:
            out.append(r"at " + _tt(s.point) + r"\par")
        if s.is_worksheet:
            out.append(r"\medskip Name: \rule{6cm}{0.4pt}\par")
        if i < len(circuit_files) and circuit_files[i]:
            out.append(r"\begin{center}\includegraphics[width=\linewidth,height=8cm,"
                       rf"keepaspectratio]{{{circuit_files[i]}}}\end{{center}}")
        out.append(r"\subsection*{Forward pass}")
        out.append(r"\begin{longtable}{llll}\toprule line & code & expression & value\\\midrule")
        for r in s.forward:
            c = r.cells
            out.append(rf"{c['n']} & {_tt(c['code'])} & ${c['tex']}$ & "
                       rf"{_blank_tex(vals, c['value'], 'val')}\\")
        out.append(r"\bottomrule\end{longtable}")
        out.append(r"\subsection*{Backward pass}")
        out.append(r"\begin{longtable}{lllll}\toprule line & code & local gradient & upstream & "
                   r"value\\\midrule")
        for r in s.backward:
            c = r.cells
            forms_r, vals_r = forms and not r.given, vals and not r.given   # the seed is given
            code = c["code"] if not forms_r else f"{c['target']} ____" + (
                "" if c["upstream"] == "1" else f" * {c['upstream']}")
            local = r"\rule{2cm}{0.4pt}" if forms_r else f"${c['local']}$"
            row = (rf"{c['n']} & {_tt(code)} & {local} & {_tt(c['upstream'])} & "
                   rf"{_blank_tex(vals_r, c['value'], 'grad')}\\")
            out.append((r"\rowcolor{yellow!20}" if r.fork else "") + row)
        out.append(r"\bottomrule\end{longtable}")
        for note in sorted({r.cells["note"] for r in s.backward if r.fork}):
            out.append(r"{\small $\mathrel{+}=$: " + note + r"}\par")
        for note in s.notes:
            out.append(r"{\small kink at " + note.replace("_", r"\_") + r"}\par")
        if s.gradient:
            out.append(r"\subsection*{The gradient}")
            for tex, code, value in s.gradient:
                out.append(rf"$\dfrac{{\partial {latex_name(s.out)}}}{{\partial {tex}}} = $ "
                           rf"{_blank_tex(vals, value, 'grad')}\par\smallskip")
        for block in s.paths:
            out.append(rf"\subsection*{{Sum over paths: $\partial {latex_name(s.out)}/\partial "
                       rf"{latex_name(block['var'])}$}}")
            out.append(r"\begin{longtable}{lll}\toprule path & product of local gradients & term\\\midrule")
            for path, tex, value in block["rows"]:
                prod = r"\rule{3cm}{0.4pt}" if forms else f"${tex}$"
                out.append(rf"{_tt(path.replace(' → ', ' -> '))} & {prod} & "
                           rf"{_blank_tex(vals, f'{value:.10g}', 'grad')}\\")
            out.append(r"\bottomrule\end{longtable}")
        if not forms:
            out.append(r"\subsection*{The symbolic side}")
            for tex, d in s.symbolic:
                out.append(r"\begin{align*}" + _broken_align(tex, d, out=s.out) + r"\end{align*}")
            out.append(s.swell.replace("%", r"\%") + r"\par")
        out.append(r"\clearpage")
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


def _broken_align(tex, d, width=110, out="f"):
    """``\\partial f/\\partial x = ...`` as align* rows of at most ~width LaTeX characters."""

    lines, cur = [], rf"\frac{{\partial {latex_name(out)}}}{{\partial {tex}}} &= "
    for tok in tex_tokens(d, 45):
        if len(cur) + len(tok) > width and cur.strip("&= \\quad"):
            lines.append(cur)
            cur = r"&\quad " + tok.lstrip()
        else:
            cur += tok
    lines.append(cur)
    return " \\\\\n".join(lines)


class TypstPrinter(StrPrinter):
    """SymPy -> Typst math: fractions as ``frac(a, b)``, names as ``italic("sigy")``."""

    def _print_Symbol(self, expr):
        m = re.fullmatch(r"(\w+?)(?:_(\d+)|\[(\d+)\])", expr.name)
        if m:
            return f"{self._print(sp.Symbol(m.group(1)))}_({m.group(2) or m.group(3)})"
        return expr.name if len(expr.name) == 1 else f'italic("{expr.name}")'

    def _print_Pow(self, expr, rational=False):
        b, e = expr.args
        if e == -1:
            return f"frac(1, {self._print(b)})"
        if e.is_Rational and e == sp.S.Half:
            return f"sqrt({self._print(b)})"
        base = self._print(b)
        if not (b.is_Symbol or b.is_Number and b >= 0):
            base = f"({base})"
        return f"{base}^({self._print(e)})"

    def _print_Mul(self, expr):
        if expr.could_extract_minus_sign():
            return "-" + self.parenthesize(-expr, 45)
        num, den = [], []
        for a in expr.args:
            if a.is_Pow and a.exp.is_Number and a.exp < 0:
                den.append(a.base ** -a.exp if a.exp != -1 else a.base)
            else:
                num.append(a)
        def prod(xs):
            if len(xs) == 1 and den:            # a lone numerator or denominator: no parentheses
                return self._print(xs[0])
            parts = [self.parenthesize(x, 45) for x in xs] or ["1"]
            return " ".join(parts) if len(parts) > 1 else parts[0]
        if den:
            return f"frac({prod(num)}, {prod(den)})"
        if len(num) == 2 and num[0] == -1:
            return f"-{self.parenthesize(num[1], 45)}"
        return prod(num)

    def _print_Function(self, expr):
        name = _TYPST.get(type(expr).__name__, f'"{type(expr).__name__}"')
        return f"{name}({', '.join(self._print(a) for a in expr.args)})"

    _print_sigmoid = _print_Function


def typst_source(sheets, circuit_files=()) -> str:
    """A Typst document with every sheet."""
    tp = TypstPrinter({"order": "none"})
    out = ['#set document(title: "derive derivation sheet", date: none)',
           '#set page(paper: "a4", margin: 2cm)', "#set text(size: 10pt)",
           '#let val(x) = text(fill: rgb("#1a7f37"), raw(x))',
           '#let grad(x) = text(fill: rgb("#c62828"), raw(x))',
           "#let blank = box(width: 3cm, line(length: 3cm, stroke: 0.5pt))"]

    def raw(s):
        return "raw(" + _q(s) + ")"

    for i, s in enumerate(sheets):
        vals, forms = "values" in s.blank, "formulas" in s.blank
        out.append(f"= Derivation sheet {('— ' + s.label) if s.label else ''}")
        out.append(f"#{raw(s.function_code)}\n")
        if s.point:
            out.append(f"at #{raw(s.point)}\n")
        if i < len(circuit_files) and circuit_files[i]:
            out.append(f'#image("{os.path.basename(circuit_files[i])}", width: 100%)')
        out.append("== Forward pass\n#table(columns: 3, stroke: none, [*line*], [*code*], [*value*],")
        for r in s.forward:
            c = r.cells
            v = "blank" if vals else f"val({_q(c['value'])})"
            out.append(f"  [{c['n']}], [#{raw(c['code'])}], [#{v}],")
        out.append(")\n== Backward pass\n#table(columns: 4, stroke: none, [*line*], [*code*], "
                   "[*local gradient*], [*value*],")
        for r in s.backward:
            c = r.cells
            forms_r, vals_r = forms and not r.given, vals and not r.given   # the seed is given
            code = c["code"] if not forms_r else f"{c['target']} ____"
            local = "#blank" if forms_r else "$" + tp.doprint(_local(s, r)) + "$"
            v = "blank" if vals_r else f"grad({_q(c['value'])})"
            out.append(f"  [{c['n']}], [#{raw(code)}], [{local}], [#{v}],")
        out.append(")")
        if s.gradient:
            out.append("== The gradient")
            for tex, code, value in s.gradient:
                out.append(f"#{raw('df/d' + code + ' = ')} #{'blank' if vals else 'grad(' + _q(value) + ')'}\n")
        for block in s.paths:
            out.append(f"== Sum over the paths from {block['var']} to f")
            out.append("#table(columns: 2, stroke: none, [*path*], [*term*],")
            for path, tex, value in block["rows"]:
                v = "blank" if vals else f"grad({_q(f'{value:.10g}')})"
                out.append(f"  [#{raw(path)}], [#{v}],")
            out.append(")")
        if not forms:
            out.append("== The symbolic side")
            for tex, d in s.symbolic:
                rows, cur = [], f"(partial {tp.doprint(sp.Symbol(s.out))})/(partial {_typst_name(tex, tp)}) &= "
                for k, term in enumerate(sp.Add.make_args(d)):
                    piece = tp.doprint(term)
                    if k and not piece.startswith("-"):
                        piece = "+ " + piece
                    if k and len(cur) + len(piece) > 120:
                        rows.append(cur)
                        cur = "& quad "
                    cur += " " + piece
                rows.append(cur)
                out.append("$ " + " \\\n  ".join(rows) + " $")
            out.append(s.swell.replace("*", r"\*") + "\n")
        out.append("#pagebreak(weak: true)")
    return "\n".join(out) + "\n"


def _typst_name(tex, tp):
    """The Typst spelling of an input given its LaTeX name (``w_{0}`` -> ``w_(0)``)."""
    m = re.fullmatch(r"(\w+)_\{(\d+)\}", tex)
    return f"{m.group(1)}_({m.group(2)})" if m else tp.doprint(sp.Symbol(tex.replace(r"\mathit{", "").replace(r"\mathrm{", "").rstrip("}")))


def _local(s, row):
    return row.cells["local_expr"]


def _q(s: str) -> str:
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def typst_pdf(sheets) -> bytes:
    """Compile the Typst source with the ``typst`` package (an optional extra)."""
    try:
        import typst
    except ImportError:
        raise DeriveError('--engine typst needs the typst package: pip install "derive[typst]"') from None
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for k, s in enumerate(sheets):
            name = f"circuit-{k}.svg"
            if s.circuit is not None:
                with open(os.path.join(tmp, name), "wb") as fh:
                    numbers = "blanks" if s.is_worksheet else True
                    fh.write(s.circuit.to_bytes("svg", numbers=numbers))
                files.append(name)
            else:
                files.append("")
        main = os.path.join(tmp, "sheet.typ")
        with open(main, "w", encoding="utf-8") as fh:
            fh.write(typst_source(sheets, files))
        try:
            return typst.compile(main, root=tmp)
        except Exception as err:  # the compiler's own message, on one line
            raise DeriveError(f"typst could not compile the sheet: {err}") from None


def write_tex(sheets, path: str) -> list:
    """Write ``path`` (.tex) and one circuit PDF per sheet beside it; returns the files."""

    stem = os.path.splitext(path)[0]
    files, written = [], []
    for k, s in enumerate(sheets):
        if s.circuit is None:
            files.append("")
            continue
        out = f"{stem}-circuit-{k + 1}.pdf"
        numbers = "blanks" if s.is_worksheet else True
        written.append(write_bytes(out, s.circuit.to_bytes("pdf", numbers=numbers)))
        files.append(os.path.basename(out))
    written.insert(0, write_bytes(path, latex_source(sheets, files).encode("utf-8")))
    return written
