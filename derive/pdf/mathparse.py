"""LaTeX math (what goes between $...$ on derive's sheets) parsed into atoms for the typesetter.

``parse(tex)`` gives a list of ``Atom``: a nucleus (a character in a font, a word, a group, a
fraction, a root, a \\left...\\right pair, an accent), optional superscript and subscript, and
TeX's spacing classes (ord, op, bin, rel, open, close, punct, inner). Anything outside the
supported subset raises ``MathError`` with one line naming it, so callers fall back to code text.
The string is only ever tokenized here, never evaluated.
"""
from __future__ import annotations

import re

from derive.core.errors import DeriveError

MAX_LENGTH = 50_000        # characters of one formula
MAX_DEPTH = 60             # nested groups, fractions, scripts


class MathError(DeriveError):
    """LaTeX the typesetter does not support (a ValueError): callers show code text instead."""


IT, RM, BF = "serif-italic", "serif", "serif-bold"
FAMILIES = {"mathrm": RM, "mathit": IT, "mathbf": BF, "boldsymbol": BF, "mathsf": "sans",
            "mathtt": "mono", "mathnormal": IT, "mathbb": "bb"}
TEXTS = {"text": RM, "textrm": RM, "mbox": RM, "textit": IT, "textbf": BF, "texttt": "mono",
         "textsf": "sans", "textnormal": RM}
DOUBLE = {"C": "ℂ", "H": "ℍ", "N": "ℕ", "P": "ℙ", "Q": "ℚ", "R": "ℝ", "Z": "ℤ"}

GREEK = dict(zip(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi "
    "omicron pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega".split(),
    "αβγδϵεζηθϑικλμνξοπϖρϱσςτυϕφχψω"))
UPPER = dict(zip("Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split(), "ΓΔΘΛΞΠΣΥΦΨΩ"))

# command -> (character, class); drawn from the upright serif font
SYMBOLS = {
    "cdot": ("⋅", "bin"), "times": ("×", "bin"), "div": ("÷", "bin"), "pm": ("±", "bin"),
    "mp": ("∓", "bin"), "ast": ("∗", "bin"), "circ": ("∘", "bin"), "bullet": ("•", "bin"),
    "odot": ("⊙", "bin"), "otimes": ("⊗", "bin"), "oplus": ("⊕", "bin"), "setminus": ("∖", "bin"),
    "leq": ("≤", "rel"), "le": ("≤", "rel"), "geq": ("≥", "rel"), "ge": ("≥", "rel"),
    "neq": ("≠", "rel"), "ne": ("≠", "rel"), "approx": ("≈", "rel"), "equiv": ("≡", "rel"),
    "sim": ("∼", "rel"), "simeq": ("≃", "rel"), "propto": ("∝", "rel"), "to": ("→", "rel"),
    "rightarrow": ("→", "rel"), "leftarrow": ("←", "rel"), "gets": ("←", "rel"),
    "Rightarrow": ("⇒", "rel"), "Leftarrow": ("⇐", "rel"), "iff": ("⟺", "rel"),
    "implies": ("⟹", "rel"), "mapsto": ("↦", "rel"), "in": ("∈", "rel"), "notin": ("∉", "rel"),
    "subset": ("⊂", "rel"), "subseteq": ("⊆", "rel"), "ll": ("≪", "rel"), "gg": ("≫", "rel"),
    "coloneqq": ("≔", "rel"), "mid": ("∣", "rel"),
    "infty": ("∞", "ord"), "partial": ("∂", "ord"), "nabla": ("∇", "ord"), "ldots": ("…", "inner"),
    "dots": ("…", "inner"), "cdots": ("⋯", "inner"), "vdots": ("⋮", "ord"), "ddots": ("⋱", "inner"),
    "prime": ("′", "ord"), "ell": ("ℓ", "ord"), "hbar": ("ℏ", "ord"), "emptyset": ("∅", "ord"),
    "forall": ("∀", "ord"), "exists": ("∃", "ord"), "neg": ("¬", "ord"), "lnot": ("¬", "ord"),
    "top": ("⊤", "ord"), "dagger": ("†", "bin"), "star": ("⋆", "bin"), "angle": ("∠", "ord"),
    "sum": ("∑", "op"), "prod": ("∏", "op"), "int": ("∫", "op"), "colon": (":", "punct"),
    "lbrace": ("{", "open"), "rbrace": ("}", "close"), "langle": ("⟨", "open"),
    "rangle": ("⟩", "close"), "lfloor": ("⌊", "open"), "rfloor": ("⌋", "close"),
    "lceil": ("⌈", "open"), "rceil": ("⌉", "close"), "vert": ("|", "ord"), "Vert": ("‖", "ord"),
    "lvert": ("|", "open"), "rvert": ("|", "close"), "lVert": ("‖", "open"), "rVert": ("‖", "close"),
    "backslash": ("\\", "ord"), "%": ("%", "ord"), "#": ("#", "ord"), "&": ("&", "ord"),
    "$": ("$", "ord"), "_": ("_", "ord"), "{": ("{", "open"), "}": ("}", "close"), "|": ("‖", "ord"),
}
ITALIC_SYMBOLS = {"partial"}          # set from the italic font, as TeX's math italic does
WORDS = frozenset(
    "log ln exp sin cos tan sec csc cot sinh cosh tanh coth arcsin arccos arctan arg det dim ker "
    "deg gcd lg lim liminf limsup max min sup inf Pr hom mod".split())
SPACES = {",": 3 / 18, "thinspace": 3 / 18, ":": 4 / 18, ">": 4 / 18, "medspace": 4 / 18,
          ";": 5 / 18, "thickspace": 5 / 18, "!": -3 / 18, "negthinspace": -3 / 18,
          "quad": 1.0, "qquad": 2.0, "enspace": 0.5, " ": 0.25}
STYLES = {"displaystyle": 0, "textstyle": 1, "scriptstyle": 2, "scriptscriptstyle": 3}
CLASSES = {"mathord": "ord", "mathop": "op", "mathbin": "bin", "mathrel": "rel",
           "mathopen": "open", "mathclose": "close", "mathpunct": "punct", "mathinner": "inner"}
ACCENTS = {"hat": "ˆ", "widehat": "ˆ", "tilde": "˜", "widetilde": "˜", "bar": "¯", "dot": "˙",
           "ddot": "¨", "check": "ˇ", "breve": "˘", "acute": "´", "grave": "`", "vec": "→"}
BIG = {"big": 1.2, "bigl": 1.2, "bigr": 1.2, "Big": 1.8, "Bigl": 1.8, "Bigr": 1.8,
       "bigg": 2.4, "biggl": 2.4, "biggr": 2.4, "Bigg": 3.0, "Biggl": 3.0, "Biggr": 3.0}
DELIMS = {"(": "(", ")": ")", "[": "[", "]": "]", "|": "|", "/": "/", "<": "⟨", ">": "⟩", ".": ""}
DELIM_CMDS = {k: v[0] for k, v in SYMBOLS.items() if k in (
    "lbrace", "rbrace", "langle", "rangle", "lfloor", "rfloor", "lceil", "rceil", "vert", "Vert",
    "lvert", "rvert", "lVert", "rVert", "{", "}", "|", "backslash")}
DELIM_CMDS.update(uparrow="↑", downarrow="↓")

# one ASCII character in math -> (character drawn, class); letters and digits are handled apart
CHARS = {"+": ("+", "bin"), "-": ("−", "bin"), "*": ("∗", "bin"), "=": ("=", "rel"),
         "<": ("<", "rel"), ">": (">", "rel"), ":": (":", "rel"), ",": (",", "punct"),
         ";": (";", "punct"), "(": ("(", "open"), "[": ("[", "open"), ")": (")", "close"),
         "]": ("]", "close"), "!": ("!", "close"), "?": ("?", "close"), "/": ("/", "ord"),
         ".": (".", "ord"), "|": ("|", "ord"), "@": ("@", "ord"), '"': ("″", "ord")}
UNICODE_CLASS = {"−": "bin", "×": "bin", "·": "bin", "⋅": "bin", "±": "bin", "÷": "bin",
                 "≤": "rel", "≥": "rel", "≠": "rel", "→": "rel", "≈": "rel", "←": "rel"}

_TOKEN = re.compile(r"\\(operatorname\*|[A-Za-z]+)[ \t\r\n]*|\\(.)|([ \t\r\n]+)|(.)", re.S)
HINT = r"write it with \frac, \sqrt, ^, _, \left( \right), \mathrm{}, \cdot and Greek letters"


class Atom:
    """One item of a math list: ``kind`` and ``data`` say what the nucleus is; ``cls`` and
    ``rcls`` are its spacing classes seen from the left and from the right."""

    __slots__ = ("kind", "data", "cls", "rcls", "sup", "sub")

    def __init__(self, kind, data, cls="ord", rcls=None):
        self.kind, self.data, self.cls, self.rcls = kind, data, cls, rcls or cls
        self.sup = self.sub = None

    def __repr__(self):
        extra = "".join(f" {k}={getattr(self, k)!r}" for k in ("sup", "sub") if getattr(self, k))
        return f"<{self.kind} {self.data!r} {self.cls}{extra}>"


def tokens(tex: str) -> list:
    """(kind, value) pairs: ("cmd", name), ("esc", char after a backslash), ("ws", " "),
    ("ch", char)."""
    out = []
    for m in _TOKEN.finditer(tex):
        word, esc, ws, ch = m.groups()
        if word is not None:
            out.append(("cmd", word))
        elif esc is not None:
            out.append(("esc", esc))
        elif ws is not None:
            out.append(("ws", " "))
        else:
            out.append(("ch", ch))
    return out


def parse(tex: str) -> list:
    """The atoms of ``tex`` (one pair of surrounding ``$`` is allowed); MathError if unsupported."""
    if not isinstance(tex, str):
        raise MathError(f"a formula must be a string of LaTeX, not {type(tex).__name__}")
    if len(tex) > MAX_LENGTH:
        raise MathError(f"formula of {len(tex)} characters is too long to typeset "
                        f"(at most {MAX_LENGTH}): split it")
    s = tex.strip()
    if len(s) >= 2 and s[0] == "$" and s[-1] == "$" and "$" not in s[1:-1].replace(r"\$", ""):
        s = s[1:-1]
    return _Parser(tokens(s)).items(None)


class _Parser:
    def __init__(self, toks):
        self.toks, self.i, self.depth = toks, 0, 0

    def peek(self, skip_ws=True):
        while skip_ws and self.i < len(self.toks) and self.toks[self.i][0] == "ws":
            self.i += 1
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self):
        t = self.peek()
        if t[0] is None:
            raise MathError("the formula ends too early: a { or an argument is missing")
        self.i += 1
        return t

    def enter(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise MathError(f"formula nested more than {MAX_DEPTH} levels deep: simplify it")

    # ---- lists ---------------------------------------------------------------------------
    def items(self, until, fam=None):
        """Atoms up to ``until`` ("}" / "right" / None for the end), with letters in ``fam``."""
        out = []
        while True:
            kind, val = self.peek()
            if kind is None:
                if until == "}":
                    raise MathError("a { is never closed: add the matching }")
                if until == "right":
                    raise MathError(r"\left without \right: add \right) (or \right.)")
                if until == "]":
                    raise MathError(r"\sqrt[ without its ]: write \sqrt[3]{x}")
                return out
            if kind == "ch" and val == "]" and until == "]":
                self.i += 1
                return out
            if kind == "ch" and val == "}":
                self.i += 1
                if until != "}":
                    raise MathError("a } closes nothing: remove it or add the matching {")
                return out
            if kind == "cmd" and val == "right":
                if until != "right":
                    raise MathError(r"\right without \left: write \left( ... \right)")
                self.i += 1
                return out
            if kind == "ch" and val in "^_":
                self.i += 1
                self.script(out, val, fam)
                continue
            if kind == "ch" and val == "'":
                self.i += 1
                out.append(Atom("char", ("′", RM), "ord"))
                continue
            out.append(self.atom(fam))

    def script(self, out, mark, fam):
        if not out or out[-1].kind in ("space", "style"):
            out.append(Atom("list", [], "ord"))
        last = out[-1]
        which = "sup" if mark == "^" else "sub"
        if getattr(last, which) is not None:
            kind = "superscript" if mark == "^" else "subscript"
            raise MathError(f"double {kind}: write x^{{a^{{b}}}} or {{x^{{a}}}}^{{b}} with braces")
        self.enter()
        setattr(last, which, self.argument(fam))
        self.depth -= 1

    def argument(self, fam=None):
        """A braced group or one token, as a list of atoms."""
        kind, val = self.peek()
        if kind == "ch" and val == "{":
            self.i += 1
            return self.group_items(fam)
        if kind is None or (kind == "ch" and val in "}^_") or (kind == "cmd" and val == "right"):
            raise MathError("an argument is missing after a command, ^ or _: add {...}")
        return [self.atom(fam)]

    def group_items(self, fam=None):
        self.enter()
        got = self.items("}", fam)
        self.depth -= 1
        return got

    def raw_group(self, what):
        """The text of a {...} argument (for \\text and \\operatorname): characters kept."""
        kind, val = self.peek()
        if not (kind == "ch" and val == "{"):
            raise MathError(rf"\{what} needs its text in braces: write \{what}{{...}}")
        self.i += 1
        out, level = [], 0
        while self.i < len(self.toks):
            kind, val = self.toks[self.i]
            self.i += 1
            if kind == "ch" and val == "{":
                level += 1
                continue
            if kind == "ch" and val == "}":
                if level == 0:
                    return "".join(out)
                level -= 1
                continue
            if kind == "ch" and val in "$^_&#%":
                if val in "^_" and what == "operatorname":
                    raise MathError(rf"\operatorname{{...}} holds a name only: move {val} after the }}")
                if val in "^_":
                    out.append(val)
                    continue
                raise MathError(rf"{val} inside \{what}{{}} is not supported: write \{val}")
            if kind == "cmd" or (kind == "esc" and val not in " {}_$%#&,;:!~^"):
                raise MathError(rf"\{val} inside \{what}{{}} is not supported: write plain text")
            if kind == "esc":
                out.append(" " if val in " ,;:" else "" if val == "!" else val)
            else:
                out.append(" " if val == "~" else val)
        raise MathError(rf"\{what}{{ is never closed: add the matching }}")

    # ---- one atom ------------------------------------------------------------------------
    def atom(self, fam):
        kind, val = self.take()
        if kind == "ch":
            return self.char(val, fam)
        if kind == "esc":
            if val in SPACES:
                return Atom("space", SPACES[val], None)
            if val in SYMBOLS:
                ch, cls = SYMBOLS[val]
                return Atom("char", (ch, RM), cls)
            if val == "\\":
                raise MathError(r"line breaks (\\) are not supported: typeset each line apart")
            raise MathError(rf"\{val} is not supported: {HINT}")
        return self.command(val, fam)

    def char(self, ch, fam):
        if ch == "{":
            items = self.group_items(fam)
            if len(items) == 1 and items[0].kind == "lr" and not (items[0].sup or items[0].sub):
                return items[0]                    # {\left(...\right)} spaces like the pair
            return Atom("list", items, "ord")
        if ch == "~":
            return Atom("space", SPACES[" "], None)
        if ch.isascii() and ch.isalpha():
            font = fam or IT
            if font == "bb":
                if ch not in DOUBLE:
                    raise MathError(rf"\mathbb{{{ch}}} is not supported: use one of "
                                    + ", ".join(DOUBLE))
                return Atom("char", (DOUBLE[ch], RM), "ord")
            return Atom("char", (ch, font), "ord")
        if ch.isdigit():
            return Atom("char", (ch, RM if fam in (None, "bb") else fam), "ord")
        if ch in CHARS:
            shown, cls = CHARS[ch]
            return Atom("char", (shown, RM), cls)
        if ch in "&#%$\\":
            raise MathError(f"{ch} is not supported in a formula: write \\{ch} for the character")
        if ch in "'^_}":                           # cannot happen: handled by items()
            raise MathError(f"misplaced {ch}")
        if not ch.isascii():
            if ch.isalpha():
                lower = ch.lower() == ch and "α" <= ch <= "ω"
                font = fam if fam not in (None, "bb") else IT if lower else RM
                return Atom("char", (ch, font), "ord")
            return Atom("char", (ch, RM), UNICODE_CLASS.get(ch, "ord"))
        raise MathError(f"the character {ch!r} is not supported in a formula")

    def command(self, name, fam):
        if name in GREEK:
            return Atom("char", (GREEK[name], BF if fam == BF else IT), "ord")
        if name in UPPER:
            return Atom("char", (UPPER[name], fam if fam in (IT, BF) else RM), "ord")
        if name in SYMBOLS:
            ch, cls = SYMBOLS[name]
            return Atom("char", (ch, IT if name in ITALIC_SYMBOLS else RM), cls)
        if name in WORDS:
            return Atom("word", (name, RM), "op")
        if name in ("operatorname", "operatorname*"):
            text = self.raw_group("operatorname").strip()
            if not text:
                raise MathError(r"\operatorname{} is empty: write \operatorname{name}")
            return Atom("word", (text, RM), "op")
        if name in TEXTS:
            return Atom("word", (self.raw_group(name), TEXTS[name]), "ord")
        if name in FAMILIES:
            self.enter()
            body = self.argument(FAMILIES[name])
            self.depth -= 1
            return Atom("list", body, "ord")
        if name in ("frac", "dfrac", "tfrac", "cfrac"):
            self.enter()
            num = self.argument(fam)
            den = self.argument(fam)
            self.depth -= 1
            style = {"dfrac": 0, "cfrac": 0, "tfrac": 1}.get(name)
            return Atom("frac", (num, den, style), "ord")
        if name == "sqrt":
            self.enter()
            index = None
            if self.peek() == ("ch", "["):
                self.i += 1
                index = self.items("]", fam)
            body = self.argument(fam)
            self.depth -= 1
            return Atom("sqrt", (body, index), "ord")
        if name == "left":
            left = self.delimiter("left")
            self.enter()
            body = self.items("right", fam)
            self.depth -= 1
            right = self.delimiter("right")
            return Atom("lr", (left, body, right), "open", "close")
        if name in BIG:
            ch = self.delimiter(name)
            cls = "open" if name.endswith("l") else "close" if name.endswith("r") else "ord"
            return Atom("big", (ch, BIG[name]), cls)
        if name in SPACES:
            return Atom("space", SPACES[name], None)
        if name in STYLES:
            return Atom("style", STYLES[name], None)
        if name in CLASSES:
            self.enter()
            body = self.argument(fam)
            self.depth -= 1
            return Atom("list", body, CLASSES[name])
        if name in ACCENTS:
            self.enter()
            body = self.argument(fam)
            self.depth -= 1
            return Atom("accent", (ACCENTS[name], body), "ord")
        if name in ("overline", "underline"):
            self.enter()
            body = self.argument(fam)
            self.depth -= 1
            return Atom(name, body, "ord")
        if name in ("limits", "nolimits", "nonumber", "relax", "strut"):
            return Atom("space", 0.0, None)
        if name in ("begin", "end"):
            raise MathError(rf"\{name}{{...}} environments (matrices, cases, aligned) are not "
                            "supported: typeset each entry apart")
        raise MathError(rf"\{name} is not supported: {HINT}")

    def delimiter(self, after):
        kind, val = self.take()
        if kind == "ch" and val in DELIMS:
            return DELIMS[val]
        if kind in ("esc", "cmd") and val in DELIM_CMDS:
            return DELIM_CMDS[val]
        shown = ("\\" if kind != "ch" else "") + str(val)
        raise MathError(rf"\{after} {shown} is not a delimiter: write \{after}( \{after}[ "
                        rf"\{after}| or \{after}.")
