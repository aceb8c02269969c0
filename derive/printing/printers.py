"""Printers for programs: SymPy printer subclasses for Python and LaTeX, plus text/Markdown/HTML.

``CodePrinter`` prints expressions as the Python that ``derive.staging.evaluate`` compiles (bare
names such as ``exp``, ``sigmoid``, ``max``, bound at run time to math, NumPy or mpmath), and
prints whole programs through ``_print_Program`` / ``_print_Line`` / ``_print_BackLine``.
``LatexPrinter`` does the same for an aligned derivation; ``NumpyPrinter`` spells gradients
with NumPy names for array programs (``derive.staging.arrays``). Gates are spelled from the rule
table, names from ``derive.core.naming``.
"""
from __future__ import annotations

import html

import sympy as sp
from sympy.printing.latex import LatexPrinter as _SympyLatex
from sympy.printing.str import StrPrinter

from derive.core import naming
from derive.core.rules import RULES, on_change


def _fmt(v) -> str:
    """A number as the user should read it: shortest round-trip repr; lists element-wise."""
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return repr(int(f)) if f.is_integer() and abs(f) < 1e15 and isinstance(v, int) else repr(f)


class CodePrinter(StrPrinter):
    """Python spelling of expressions and programs (arguments kept in the order written)."""

    def __init__(self, settings=None):
        super().__init__(dict({"order": "none"}, **(settings or {})))

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Rational(self, expr):
        return f"{expr.p}/{expr.q}"

    def _print_sign(self, expr):
        return f"sign({self._print(expr.args[0])})"

    def _print_Exp1(self, expr):
        return "exp(1)"

    def _print_Pi(self, expr):
        return "3.141592653589793"

    def _print_Heaviside(self, expr):
        z = expr.args[0]
        h0 = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        if h0 not in (0, 1):
            return f"heaviside({self._print(z)}, {float(h0)!r})"
        rel = ">" if h0 == 0 else ">="
        lhs, rhs = z, sp.S.Zero
        if isinstance(z, sp.Add) and len(z.args) == 2 and z.args[1].could_extract_minus_sign():
            lhs, rhs = z.args[0], -z.args[1]
        return f"({self._print(lhs)} {rel} {self._print(rhs)})"

    # ---- programs ----
    def _print_Line(self, ln):
        return f"{self._print(ln.target)} = {self._print(ln.rhs)}"

    def _print_BackLine(self, bl):
        op = "+=" if bl.accumulate else "="
        return f"{self._print(bl.target)} {op} {self.backward_rhs(bl)}"

    def backward_rhs(self, bl) -> str:
        local = bl.local
        if bl.upstream is None:
            return self._print(local)
        up = self._print(bl.upstream)
        if local == 1:
            return up
        if local == -1:
            return f"-{up}"
        text = self._print(local)
        if not (local.is_Symbol or (local.is_Number and local >= 0)) or "[" in text and not local.is_Symbol:
            text = f"({text})"
        return f"{text} * {up}"

    def _print_Program(self, prog):
        return "\n".join(code_lines(prog, self))


def code_lines(prog, printer=None, comments=True):
    """The program as Python statements: forward lines, then backward lines with comments."""
    p = printer or CodePrinter()
    out = []
    for ln in prog.forward:
        note = f"  # ({ln.number})" if comments else ""
        if comments and not ln.used:
            note += " not used by the output"
        if comments and ln.label:
            note += f" in {ln.label}"  # an unrolled loop's iteration
        out.append(p._print(ln) + note)
    return out + backward_lines(prog, p, comments)


def backward_lines(prog, printer=None, comments=True):
    p = printer or CodePrinter()
    out = []
    for bl in prog.backward:
        note = ""
        if comments:
            note = f"  # ({bl.ref})"
            if bl.seed:
                note += f" {bl.note}"
            if bl.accumulate:
                note += f" {bl.var} is used {bl.uses} times: gradients add"
        out.append(p._print(bl) + note)
    return out


class LatexPrinter(_SympyLatex):
    """LaTeX of expressions with derive's names (\\mathit{sigy}) and gates; programs as align."""

    def __init__(self, settings=None):
        super().__init__(dict({"order": "none"}, **(settings or {})))

    def _print_Symbol(self, expr, style="plain"):
        return naming.latex_name(expr.name)

    def _print_Line(self, ln):
        return f"{self._print(ln.target)} &= {self._print(ln.rhs)} && ({ln.number})"

    def _print_BackLine(self, bl):
        target = naming.latex_name(bl.target.name)
        op = r"\mathrel{+}=" if bl.accumulate else "="
        up = naming.latex_name(bl.upstream.name) if bl.upstream is not None else ""
        if bl.upstream is None:
            rhs = self._print(bl.local)
        elif bl.local in (1, -1):
            rhs = up if bl.local == 1 else f"-{up}"
        elif bl.local.is_Atom:
            rhs = rf"{self._print(bl.local)} \cdot {up}"
        else:
            rhs = rf"\left({self._print(bl.local)}\right) \cdot {up}"
        return f"{target} &{op} {rhs} && ({bl.ref})"

    def _print_Program(self, prog):
        rows = [r"&\text{forward pass} \\"] + [self._print(ln) + r" \\" for ln in prog.forward]
        rows += [r"&\text{backward pass} \\"] + [self._print(bl) + r" \\" for bl in prog.backward]
        rows[-1] = rows[-1][:-3]
        return "\\begin{aligned}\n" + "\n".join(rows) + "\n\\end{aligned}"


def latex_program(prog) -> str:
    return LatexPrinter().doprint(prog)


def code(expr) -> str:
    """One expression (or line) in derive's Python spelling."""
    return CodePrinter().doprint(expr)


def latex(expr) -> str:
    return LatexPrinter().doprint(expr)


def _values(prog, result):
    if result is None:
        return {}, {}
    return result.values, result.adjoints


def text_program(prog, result=None) -> str:
    """The human listing: forward lines with values, backward lines with values, the gradient."""
    p = CodePrinter()
    vals, adjs = _values(prog, result)
    fwd = [p._print(ln) for ln in prog.forward]
    bwd = [p._print(bl) for bl in prog.backward]
    width = max([len(s) for s in fwd + bwd] + [20]) + 2
    args = ", ".join(n for n, _ in prog.params)
    src = prog.source or ""
    if src.isidentifier():
        out = [f"{src}({args}), staged ({prog.gates} gates)"]
    elif src and "\n" not in src:
        out = [f"{prog.output}({args}) = {src}"]
    else:
        out = [f"{prog.output}({args})"]
    if result is not None:
        out.append("at " + ", ".join(f"{k} = {_fmt(v)}" for k, v in result.point.items()))
    out += ["", "forward pass" + (" " * (width - 8) + "value" if result else "")]
    for ln, s in zip(prog.forward, fwd):
        note = f"# ({ln.number})"
        if not ln.used:
            note += " not used by the output"
        val = f"  {_fmt(vals[ln.target.name])}" if result else ""
        where = f"   <- {ln.label}" if ln.label else ""  # an unrolled loop's iteration
        out.append(f"  {s.ljust(width)}{note.ljust(6)}{val}{where}".rstrip())
    out += ["", "backward pass" + (" " * (width - 9) + "value" if result else "")]
    for k, (bl, s) in enumerate(zip(prog.backward, bwd)):
        note = f"# ({bl.ref})"
        val = f"  {_fmt(result.steps[k])}" if result else ""
        fork = f"   <- {bl.var} is used {bl.uses} times: gradients add" if bl.accumulate else ""
        fork = f"   <- {bl.note}" if bl.seed else fork
        out.append(f"  {s.ljust(width)}{note.ljust(6)}{val}{fork}".rstrip())
    if result is not None:
        out += ["", "value", f"  {prog.output} = {_fmt(result.value)}", "", "gradient"]
        for k, v in result.grad.items():
            out.append(f"  d{prog.output}/d{k} = {_fmt(v)}")
        out += [f"note: {n}" for n in result.notes]
    return "\n".join(out)


def markdown_program(prog, result=None) -> str:
    """Forward and backward tables in Markdown."""
    p = CodePrinter()
    vals, adjs = _values(prog, result)
    head = "| # | forward | value |\n|---|---|---|" if result else "| # | forward |\n|---|---|"
    rows = [head]
    for ln in prog.forward:
        v = f" {_fmt(vals[ln.target.name])} |" if result else ""
        rows.append(f"| {ln.number} | `{p._print(ln)}` |{v}")
    rows.append("")
    rows.append("| backward | local gradient | line | value |\n|---|---|---|---|" if result
                else "| backward | local gradient | line |\n|---|---|---|")
    for k, bl in enumerate(prog.backward):
        mark = " (fork: +=)" if bl.accumulate else ""
        v = f" {_fmt(result.steps[k])} |" if result else ""
        rows.append(f"| `{p._print(bl)}`{mark} | `{p._print(bl.local)}` | ({bl.ref}) |{v}")
    return "\n".join(rows)


def html_program(prog, result=None) -> str:
    """Forward and backward side by side (Jupyter's rich display); deterministic."""
    p = CodePrinter()
    fwd = "\n".join(f"{p._print(ln)}  # ({ln.number})" for ln in prog.forward)
    bwd = "\n".join(backward_lines(prog, p))
    cell = ('<td style="vertical-align:top;text-align:left"><b>{}</b>'
            '<pre style="margin:0">{}</pre></td>')
    return ("<table><tr>" + cell.format("forward pass", html.escape(fwd))
            + cell.format("backward pass", html.escape(bwd)) + "</tr></table>")


def group(text: str) -> str:
    """Parenthesise an expression that will be multiplied (unless a name or already grouped)."""
    simple = text.replace("_", "").replace(".", "").isalnum()
    if text.startswith("(") and text.endswith(")"):
        depth = 0
        for i, ch in enumerate(text):
            depth += (ch == "(") - (ch == ")")
            if depth == 0 and i < len(text) - 1:
                break
        else:
            simple = True
    return text if simple else f"({text})"


def kw_text(axis, keepdims) -> str:
    """An array call's options as printed: ``, axis=0, keepdims=True``."""
    return (f", axis={axis}" if axis is not None else "") + (", keepdims=True" if keepdims else "")


def sum_text(expr: str, lead, kept, shape) -> str:
    """The broadcast sum that gives an adjoint its variable's shape back."""
    ax = lambda t: str(t[0]) if len(t) == 1 else str(t)  # noqa: E731
    if not shape:
        return f"np.sum({expr})"
    if not kept:
        return f"np.sum({expr}, axis={ax(lead)})"
    if not lead:
        return f"np.sum({expr}, axis={ax(kept)}, keepdims=True)"
    every = tuple(lead) + tuple(len(lead) + k for k in kept)
    return f"np.sum({expr}, axis={ax(every)}).reshape({shape})"


class NumpyPrinter(CodePrinter):
    """CodePrinter with NumPy spellings, so elementwise gradients run on arrays as printed;
    array gates (``ArrayCall``, ``Vjp``) are spelled by their rows' NumPy templates."""

    def _print_ArrayCall(self, c):
        args = [self._print(a) for a in c.args]
        return c.rule.forward.format(*args, kw=kw_text(c.axis, c.keepdims), axis=c.axis,
                                     index=c.subscript.format(*args))

    def _print_Vjp(self, v, target=None):
        up = "1.0" if v.upstream is None else self._print(v.upstream)
        args = [self._print(a) for a in v.args]
        index = v.subscript.format(*args)
        text = v.template.format(*args, g=up, y=self._print(v.out), kw=kw_text(v.axis, v.keepdims),
                                 axis=v.axis, index=index, d=target,
                                 indices=f"({index})" if "," in index else index)
        return text[len("1.0 * "):] if v.upstream is None and text.startswith("1.0 * ") else text

    def _print_BackLine(self, bl):
        if bl.vjp is not None and bl.vjp.scatter:  # np.add.at(dW, x, dout): a statement
            return self._print_Vjp(bl.vjp, self._print(bl.target))
        return super()._print_BackLine(bl)

    def backward_rhs(self, bl) -> str:
        if bl.vjp is None and bl.local is None:
            return f"np.zeros_like({self._print(bl.var)})"
        if bl.vjp is not None:
            text = self._print(bl.vjp)
        elif bl.upstream is None:
            text = self._print(bl.local)
        else:
            up = self._print(bl.upstream)
            text = up if bl.local == 1 else f"-{up}" if bl.local == -1 else \
                f"{group(self._print(bl.local))} * {up}"
        if bl.reduce is not None:
            text = sum_text(text, *bl.reduce)
        return text + ".copy()" if bl.copy else text

    def _print_sign(self, expr):
        return f"np.sign({self._print(expr.args[0])})"

    def _print_Pow(self, expr, rational=False):
        if expr.exp == sp.S.Half:
            return f"np.sqrt({self._print(expr.base)})"
        return super()._print_Pow(expr, rational)

    def _print_Heaviside(self, expr):
        h0 = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        if h0 in (0, 1):
            return super()._print_Heaviside(expr)
        return f"np.heaviside({self._print(expr.args[0])}, {float(h0)!r})"


# ---- gate spellings from the rows (SymPy pycode's setattr loop) ---------------------------------
def _spell(rule, how):
    def _print(self, expr, exp=None):
        return getattr(rule, how)([self._print(a) for a in expr.args])
    return _print


def _latex(rule):
    def _print(self, expr, exp=None):
        s = rule.latex.format(*[self._print(a) for a in expr.args])
        return f"{s}^{{{exp}}}" if exp else s
    return _print


def _spell_rows():
    for rule in RULES.values():
        for t in rule.sympy_types if rule.called else ():
            setattr(CodePrinter, f"_print_{t.__name__}", _spell(rule, "python_call"))
            setattr(NumpyPrinter, f"_print_{t.__name__}", _spell(rule, "numpy_call"))
            if not t.__module__.startswith("sympy"):  # SymPy already writes LaTeX for its own
                setattr(LatexPrinter, f"_print_{t.__name__}", _latex(rule))


on_change(_spell_rows)
