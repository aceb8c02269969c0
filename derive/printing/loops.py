"""Rolled loops in LaTeX, Markdown and HTML: the forward loop and the reversed backward loop.

The statements are those of the Python listing (``derive.staging.rolled.statements``: the tape
``prev_hs[t] = prev_h`` stored and restored, the adjoints zeroed before the backward loop and
added into with ``+=``, the carried values), read here as ``Item`` s: each statement's depth in
the loop, its code, its comment, and the forward or backward line it prints (if any). LaTeX sets
them as an aligned listing (``\\textbf{for } t = 0, \\dots, 4`` and indented lines, multi-letter
names upright as on the sheets; an array program's statements in typewriter NumPy, as its
straight-line LaTeX); Markdown as the straight-line tables, each loop a ``python``
block between them (the code runs as printed); HTML as the two listings side by side.
"""
from __future__ import annotations

import html as _html
import re
from dataclasses import dataclass

from derive.core import naming
from derive.printing.printers import LatexPrinter, _fmt
from derive.staging import rolled
from derive.staging.array_program import _result_text as array_result


@dataclass(frozen=True)
class Item:
    """One statement of a rolled listing."""

    depth: int           # 0 outside a loop, 1 in its body
    code: str            # the Python statement (without indent and comment)
    comment: str         # ``(3)``, ``stored``, ``line 3``, ...
    line: object = None  # the Line or BackLine it prints, or None (tape, header, carried value)


class _Marks:
    """Stands in for the printer while the listing is made: each line printed becomes a mark."""

    def __init__(self):
        self.seen = []

    def _print(self, obj):
        self.seen.append(obj)
        return f"\x00{len(self.seen) - 1}\x00"


_STATEMENT = re.compile(r"^( *)(.*?)(?:  # (.*))?$")
_MARK = re.compile("\x00(\\d+)\x00")


def items(prog, printer) -> tuple:
    """(forward, backward) Items of a program with rolled loops, in the order of the listing."""
    marks = _Marks()
    zeros = "np.zeros_like({v})" if prog.arrays else "0.0"
    fwd, back = rolled.statements(prog, marks, comments=True, zeros=zeros)

    def read(text):
        indent, code, comment = _STATEMENT.match(text).groups()
        m = _MARK.search(code)
        line = marks.seen[int(m.group(1))] if m else None
        if m:
            code = code.replace(m.group(0), printer._print(line))
        return Item(len(indent) // 4, code, comment or "", line)

    return [read(s) for s in fwd], [read(s) for s in back]


# ---- LaTeX ----------------------------------------------------------------------------------
def upright(name: str) -> str:
    """A name as the sheets set it: one letter italic, several upright (``\\mathrm{sigy}``)."""
    return naming.latex_name(name).replace(r"\mathit{", r"\mathrm{")


class _Latex(LatexPrinter):
    def __init__(self):
        super().__init__({"mul_symbol": "dot"})

    def _print_Symbol(self, expr, style="plain"):
        return upright(expr.name)


_NAME = re.compile(r"[A-Za-z_]\w*")
_SIMPLE = re.compile(r"^([A-Za-z_]\w*)(\[(\w+(?: - \d+)?)\])?$")   # h_1, hs[i], hs[i - 1]


def _value_tex(text: str):
    """LaTeX of a name, a tape entry or a zero; None for anything else."""
    if text in ("0.0", "0") or re.fullmatch(r"np\.zeros_like\(\w+\)", text):
        return "0"
    slots = re.fullmatch(r"\[None\] \* (\d+)", text)   # a tape: one entry per step
    if slots:
        return rf"[\,\cdot\,] \times {slots.group(1)}"
    m = _SIMPLE.match(text)
    if not m:
        return None
    out = upright(m.group(1))
    if m.group(2):
        out += "[" + " ".join(upright(t) if _NAME.fullmatch(t) else t for t in m.group(3).split()) + "]"
    return out


def _text(s: str) -> str:
    return re.sub(r"([_#%&${}])", r"\\\1", s)


def _tt(s: str) -> str:
    return r"\texttt{" + _text(s).replace("~", r"\~{}").replace("^", r"\^{}") + "}"


def _header_tex(lp, backward) -> str:
    first, last = lp.start, lp.stop - 1
    if backward:
        first, last = last, first
    steps = str(first) if lp.trips == 1 else f"{first}, \\dots, {last}"
    return rf"\textbf{{for }} {upright(str(lp.var))} = {steps}"


def _statement_tex(prog, item, tex) -> str:
    """One statement in LaTeX: a line of the program, a loop header, or a tape/carry/zero."""
    for lp in prog.loops:
        for backward in (False, True):
            if item.code == lp.header(backward):
                return _header_tex(lp, backward)
    ln = item.line
    if ln is not None and not prog.arrays:
        if hasattr(ln, "ref"):     # a backward line: local gradient times upstream
            op = r"\mathrel{+}=" if ln.accumulate else "="
            if ln.upstream is None:
                rhs = tex.doprint(ln.local)
            elif ln.local in (1, -1):
                rhs = ("" if ln.local == 1 else "-") + upright(ln.upstream.name)
            else:
                local = tex.doprint(ln.local)
                local = local if ln.local.is_Atom else rf"\left({local}\right)"
                rhs = rf"{local} \cdot {upright(ln.upstream.name)}"
            return f"{upright(ln.target.name)} {op} {rhs}"
        return f"{upright(ln.target.name)} = {tex.doprint(ln.rhs)}"
    m = re.fullmatch(r"(.+?) (\+?=) (.+)", item.code)
    if m and ln is None and not prog.arrays:   # arrays: NumPy code throughout, as their listing
        lhs, rhs = _value_tex(m.group(1)), _value_tex(m.group(3))
        if lhs is not None and rhs is not None:
            op = "=" if m.group(2) == "=" else r"\mathrel{+}="
            return f"{lhs} {op} {rhs}"
    return _tt(item.code)


def _note_tex(comment: str) -> str:
    m = re.fullmatch(r"\((\d+)\)(?: (.*))?", comment)
    if m:
        return f"({m.group(1)})" + (rf"\ \text{{{_text(m.group(2))}}}" if m.group(2) else "")
    return rf"\text{{{_text(comment)}}}" if comment else ""


def latex(prog, printer) -> str:
    """An aligned listing: the forward loop, then the reversed backward loop, each statement on
    its own row (indented by ``\\quad`` inside a loop) with its ``(n)`` or what it does."""
    tex = _Latex()
    fwd, back = items(prog, printer)
    rows = []
    for title, part in (("forward pass", fwd), ("backward pass", back)):
        rows.append(rf"&\text{{{title}}} \\")
        for it in part:
            note = _note_tex(it.comment)
            rows.append("&" + r"\quad " * (it.depth + 1) + _statement_tex(prog, it, tex)
                        + (f" && {note}" if note else "") + r" \\")
    rows[-1] = rows[-1][:-3]
    return "\\begin{aligned}\n" + "\n".join(rows) + "\n\\end{aligned}"


# ---- Markdown and HTML ----------------------------------------------------------------------
def _runs(part):
    """The statements cut into straight-line runs (table rows) and loop blocks: a block starts
    at a statement that prints no line (a tape, a zeroed adjoint, a loop header) and runs while
    the statements are inside a loop or print no line."""
    out = []
    for it in part:
        in_block = it.depth > 0 or it.line is None
        if in_block and out and out[-1][0] == "block" or not in_block and out and out[-1][0] == "table":
            out[-1][1].append(it)
        else:
            out.append(("block" if in_block else "table", [it]))
    return out


def _listing(part) -> str:
    return "\n".join("    " * it.depth + it.code + (f"  # {it.comment}" if it.comment else "") for it in part)


def value_before(prog, line, result):
    """The value of a forward line outside the loops at a run: a value carried into a loop is
    the one before the loop (the first entry of its tape, or the constant it starts from; None
    if neither is known)."""
    for lp in prog.loops:
        if any(a == line.target for a, _ in lp.carried):
            tape = dict(lp.taped).get(line.target)
            if tape:
                return result.values[tape][0]
            return float(line.rhs) if getattr(line.rhs, "is_Number", False) else None
    return result.values.get(line.target.name)


def _shape(ln):
    return "" if getattr(ln, "shape", None) is None else ("()" if ln.shape == () else str(tuple(ln.shape)))


def markdown(prog, printer, result=None) -> str:
    """The straight-line Markdown tables, each rolled loop a ``python`` block between them;
    with a run's result, the values of the lines outside the loops and the gradient."""
    fwd, back = items(prog, printer)
    out = []
    for part, forward in ((fwd, True), (back, False)):
        for kind, run in _runs(part):
            if kind == "block":
                out += ["", "```python", _listing(run), "```", ""]
                continue
            if forward:
                extra = " shape |" if prog.arrays else " value |" if result is not None else ""
                out += ["| # | forward |" + extra, "|---|---|" + "---|" * bool(extra)]
                for it in run:
                    value = value_before(prog, it.line, result) if result is not None else None
                    cell = _shape(it.line) if prog.arrays else "" if value is None else _fmt(value)
                    out.append(f"| {it.line.number} | `{it.code}` |" + (f" {cell} |" if extra else ""))
            elif prog.arrays:
                out += ["| backward | line | shape |", "|---|---|---|"]
                out += [f"| `{it.code}` | ({it.line.ref}) | {_shape(it.line)} |" for it in run]
            else:
                out += ["| backward | local gradient | line |", "|---|---|---|"]
                out += [f"| `{it.code}`{' (fork: +=)' if it.line.accumulate else ''} | "
                        f"`{printer._print(it.line.local)}` | ({it.line.ref}) |" for it in run]
        out.append("")
    if result is not None and prog.arrays:     # as the straight-line array Markdown ends
        out += array_result(prog, result)
    elif result is not None:
        out += ["value", "", f"- `{prog.output} = {_fmt(result.value)}`", "", "gradient", ""]
        out += [f"- `d{prog.output}/d{k} = {_fmt(v)}`" for k, v in result.grad.items()]
        out += [""] + [f"note: {n}" for n in result.notes]
    return "\n".join(_squeeze(out)).strip("\n")


def _squeeze(rows):
    """No two blank rows in a row."""
    out = []
    for r in rows:
        if not (r == "" and out and out[-1] == ""):
            out.append(r)
    return out


def html(prog, printer) -> str:
    """The forward and backward listings side by side, loops rolled (Jupyter's rich display)."""
    fwd, back = items(prog, printer)
    cell = ('<td style="vertical-align:top;text-align:left"><b>{}</b>'
            '<pre style="margin:0">{}</pre></td>')
    return ("<table><tr>" + cell.format("forward pass", _html.escape(_listing(fwd)))
            + cell.format("backward pass", _html.escape(_listing(back))) + "</tr></table>")
