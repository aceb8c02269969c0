"""derive.pdf.mathtex: the sheets' LaTeX typeset into boxes of glyphs and rules, without matplotlib."""
import json
import os

import pytest

from derive.core.errors import DeriveError
from derive.pdf import fonts
from derive.pdf.boxes import Box
from derive.pdf.mathtex import MathError, ink, typeset, width

SIZE = 10.0
CORPUS = "/tmp/prof2/math.json"       # every formula the current sheets set (when present)

# what derive's sheets and printers make (sheet lines, adjoints, SymPy derivatives, pieces)
FORMULAS = [
    r"x", r"-1", r"1 - \mathrm{tanhxmy}^{2}", r"2 \cdot \mathrm{xpy}",
    r"- \frac{\mathrm{num}}{\mathrm{den}^{2}}", r"\frac{1}{\mathrm{t1}}",
    r"\frac{\partial f}{\partial x} =",
    r"\frac{\partial f}{\partial x} = \frac{1}{\left(x + y\right)^{2} + \sigma\left(x\right)} + "
    r"\frac{\left(x + \sigma\left(y\right)\right) \cdot \left(- 2 \cdot x - 2 \cdot y - \left(1 - "
    r"\sigma\left(x\right)\right) \cdot \sigma\left(x\right)\right)}{\left(\left(x + y\right)^{2} + "
    r"\sigma\left(x\right)\right)^{2}}",
    r"\frac{\partial f}{\partial y} = \left(-1 + \tanh^{2}{\left(x - y \right)}\right) \cdot "
    r"\log{\left(1 + e^{x \cdot y} \right)} + \frac{x \cdot e^{x \cdot y} \cdot \tanh{\left(x - y "
    r"\right)}}{1 + e^{x \cdot y}}",
    r"\left(-1\right) \cdot \left(1 - \mathrm{tanhxmy}^{2}\right) \cdot \mathrm{logt1}",
    r"\left(2 \cdot \mathrm{xpy}\right) \cdot \left(- \frac{\mathrm{num}}{\mathrm{den}^{2}}\right)",
    r"\left(\mathrm{sigy} \cdot \left(1 - \mathrm{sigy}\right)\right) \cdot "
    r"\left(\frac{1}{\mathrm{den}}\right)",
    r"\mathrm{expxy} = e^{\mathrm{xy}}", r"\mathrm{logt1} = \log{\left(\mathrm{t1} \right)}",
    r"\mathrm{sigx} = \sigma\left(x\right)", r"\mathrm{tanhxmy} = \tanh{\left(\mathrm{xmy} \right)}",
    r"f(x, y) = \frac{x + \sigma\left(y\right)}{\left(x + y\right)^{2} + \sigma\left(x\right)}",
    r"x \cdot \mathrm{expxy} \cdot \left(\frac{1}{\mathrm{t1}}\right) \cdot \mathrm{tanhxmy}",
    r" + \theta\left(x - y, 0\right)", r" / \left(1 + y^{2}\right)^{\frac{3}{2}}",
    r" / \sqrt{1 + y^{2}}", r"(1", r" - \sigma(w_{2} + w_{0} \cdot x_{0} + w_{1} \cdot x_{1}))",
    r"- \theta\left(x - y, 0\right) + x \cdot \operatorname{sign}{\left(x \cdot y \right)} + "
    r"\theta\left(y - x\right) \cdot \min\left(x, 2\right)",
    r"\operatorname{relu}\left(x\right) + \operatorname{softplus}\left(x\right) + \left|{x}\right|",
    r"\max\left(x, y\right) - \operatorname{atan} x + \sin x \cos y + \sinh x - \cosh y",
    r"\operatorname{log1p}\left(x\right) \cdot \tan x", r"\mathit{sigy} \cdot \mathit{dout}",
    r"\mathrm{d\_x} = 0", r"\, (x + y)", r"w_{0} \cdot x_{0} + b", r"x_{1}^{2}",
    r"\mathrm{written\ out,\ 5000\ nodes:\ see\ the\ forward\ pass}",
    r"\frac{d}{d x} f{\left(x \right)}", r"\frac{\partial^{2}}{\partial x^{2}} f",
    r"\sqrt{\mathrm{var} + 1.0 \cdot 10^{-5}}", r"\frac{1}{2} \sum_{i} r_{i}^{2}",
    r"\alpha \beta \gamma \delta \epsilon \zeta \eta \theta \lambda \mu \pi \rho \sigma \tau \phi \omega",
    r"\Gamma \Delta \Theta \Lambda \Xi \Pi \Sigma \Phi \Psi \Omega",
    r"a \leq b \geq c \neq d \to e \pm f \times g \ldots h \cdots \infty",
    r"\text{forward pass} \quad x \qquad y ~ z \; w \: v \! u",
    r"\mathbf{W} \mathbf{x} + \mathbf{b}", r"f'(x) = 2 x", r"\left[x\right] \left. x \right|_{0}",
    r"\hat{x} + \bar{y} + \tilde{z} + \vec{v} + \overline{x y}",
    r"\sqrt[3]{x} + \sqrt[n]{\frac{1}{x}}", r"\textbf{for } t = 0, \dots, 4",
    r"\mathrm{dh} \mathrel{+}= \left(1 - \mathrm{h}^{2}\right) \cdot \mathrm{dout}",
    r"\frac{\left(x + 1\right)^{2}}{\sqrt{x}} \left(\frac{1}{2}\right)",
]


def _corpus_file():
    if not os.path.exists(CORPUS):
        return []
    with open(CORPUS, encoding="utf-8") as fh:
        data = json.load(fh)
    return [t for t in data if isinstance(t, str)]


def _ink_box(g):
    x0, y0, x1, y1 = ink(g.font, g.char)
    return (g.x + x0 * g.size, g.y + y0 * g.size * g.sy, g.x + x1 * g.size, g.y + y1 * g.size * g.sy)


def _check_bounds(box, tex):
    eps = 1e-6
    assert box.width >= 0 and box.height >= 0 and box.depth >= 0
    for g in box.glyphs:
        x0, y0, x1, y1 = _ink_box(g)
        adv = fonts.font(g.font).advance(g.char) * g.size
        assert -eps <= x0 and x1 <= box.width + eps, (tex, g)
        assert -eps <= g.x and g.x + adv <= box.width + eps, (tex, g)
        assert -box.depth - eps <= y0 and y1 <= box.height + eps, (tex, g)
        assert fonts.font(g.font).has(g.char), (tex, g)
    for r in box.rules:
        assert -eps <= r.x and r.x + r.w <= box.width + eps, (tex, r)
        assert -box.depth - eps <= r.y and r.y + r.h <= box.height + eps, (tex, r)


@pytest.mark.parametrize("tex", FORMULAS)
def test_formulas_typeset_inside_their_box(tex):
    box = typeset(tex, SIZE)
    assert isinstance(box, Box) and box.glyphs and box.width > 0
    _check_bounds(box, tex)
    assert "-" not in box.text()        # every minus is U+2212


def test_corpus_file_typesets():
    for tex in _corpus_file():
        _check_bounds(typeset(tex, SIZE), tex)


def test_what_derives_printers_make_typesets():
    """Every line, local gradient, derivative and line-breaking piece of the catalogue's sheets."""
    pytest.importorskip("sympy")
    from benchmarks.mathtex import corpus

    seen = corpus()
    assert len(seen) > 100
    for tex in seen:
        _check_bounds(typeset(tex, SIZE), tex)


def test_minus_dot_partial_and_greek_are_the_characters_shown():
    assert typeset("x - y", SIZE).text() == "x−y"
    assert typeset(r"a \cdot b", SIZE).text() == "a⋅b"
    assert typeset(r"\frac{\partial f}{\partial x}", SIZE).text() == "∂f∂x"
    assert typeset(r"\sigma\left(x\right) \times \alpha", SIZE).text() == "σ(x)×α"
    assert typeset(r"\tanh{\left(x \right)}", SIZE).text() == "tanh(x)"


def test_fonts_letters_italic_names_digits_upright():
    box = typeset(r"x + \mathrm{sigy} + 2 \alpha \Omega \mathbf{W} \mathit{ab} \log", SIZE)
    fnt = {g.char: g.font for g in box.glyphs}
    assert fnt["x"] == "serif-italic" and fnt["α"] == "serif-italic"
    assert fnt["s"] == fnt["i"] == fnt["g"] == fnt["y"] == "serif"
    assert fnt["2"] == fnt["+"] == fnt["Ω"] == fnt["l"] == "serif"
    assert fnt["W"] == "serif-bold" and fnt["a"] == fnt["b"] == "serif-italic"


def _glyph(box, ch, k=0):
    return [g for g in box.glyphs if g.char == ch][k]


def test_widths_grow_with_content_and_scale_with_size():
    texts = ["x", "x + y", r"x + y \cdot z", r"x + y \cdot z - \frac{1}{w}"]
    widths = [width(t, SIZE) for t in texts]
    assert widths == sorted(widths) and len(set(widths)) == 4
    assert width(r"\frac{x}{y} + \sqrt{z}", 20) == pytest.approx(2 * width(r"\frac{x}{y} + \sqrt{z}", 10))
    assert width("x", SIZE) == pytest.approx(typeset("x", SIZE).width)


def test_binary_operators_spaced_unary_not():
    def gap(tex, a, b):
        box = typeset(tex, SIZE)
        ga, gb = _glyph(box, a), _glyph(box, b)
        return _ink_box(gb)[0] - _ink_box(ga)[2]

    binary, unary = gap("x - y", "x", "−"), gap("-y", "−", "y")
    assert binary > 0.15 * SIZE and unary < 0.1 * SIZE
    assert gap(r"\left(- y\right)", "−", "y") == pytest.approx(unary)
    assert gap(r"x = - y", "−", "y") == pytest.approx(unary)
    assert gap(r"x = - y", "x", "=") > binary       # relations get thick spaces
    # in a script no medium space around a binary operator
    assert gap("e^{x - y}", "x", "−") < 0.6 * binary


def test_superscript_raised_and_smaller_subscript_lowered():
    box = typeset("x^{2}", SIZE)
    two = _glyph(box, "2")
    assert two.y >= 0.35 * SIZE and two.size == pytest.approx(0.7 * SIZE)
    assert two.x >= _ink_box(_glyph(box, "x"))[2] - 1e-9
    box = typeset("w_{0}", SIZE)
    zero = _glyph(box, "0")
    assert zero.y <= -0.15 * SIZE and zero.size == pytest.approx(0.7 * SIZE)
    both = typeset("x_{1}^{2}", SIZE)
    assert _glyph(both, "2").y > 0 > _glyph(both, "1").y
    assert _glyph(both, "2").x == pytest.approx(_glyph(both, "1").x, abs=0.5)
    tall = typeset(r"\left(\frac{1}{x}\right)^{2}", SIZE)
    assert _glyph(tall, "2").y > two.y                   # more above a taller base
    assert typeset("x'", SIZE).text() == "x′"


def test_nested_scripts_shrink():
    box = typeset("x^{y^{z}}", SIZE)
    sizes = [_glyph(box, c).size for c in "xyz"]
    assert sizes[0] > sizes[1] > sizes[2] >= 0.5 * SIZE - 1e-9
    ys = [_glyph(box, c).y for c in "xyz"]
    assert ys[0] < ys[1] < ys[2]


def test_fraction_bar_on_the_axis_between_numerator_and_denominator():
    box = typeset(r"\frac{1}{x}", SIZE)
    assert len(box.rules) == 1
    bar = box.rules[0]
    one, x = _glyph(box, "1"), _glyph(box, "x")
    assert _ink_box(one)[1] > bar.y + bar.h > bar.y > _ink_box(x)[3]
    assert 0.03 * SIZE <= bar.h <= 0.07 * SIZE
    minus = _ink_box(_glyph(typeset("-", SIZE), "−"))
    assert bar.y + bar.h / 2 == pytest.approx((minus[1] + minus[3]) / 2)
    assert bar.w >= max(_ink_box(one)[2] - _ink_box(one)[0], _ink_box(x)[2] - _ink_box(x)[0])
    line = typeset("x + 1", SIZE)
    assert box.height > line.height and box.depth > line.depth
    assert box.height + box.depth > 1.5 * (line.height + line.depth)
    assert one.size < SIZE                                # text style: one style smaller


def test_nested_fractions_never_below_sixty_percent():
    box = typeset(r"\frac{\frac{a}{b}}{\frac{c}{\frac{d}{e}}}", SIZE)
    assert len(box.rules) == 4
    assert min(g.size for g in box.glyphs) >= 0.6 * SIZE - 1e-9
    assert typeset(r"\dfrac{a}{b}", SIZE).glyphs[0].size == SIZE


def test_delimiters_stretch_to_their_content():
    flat = typeset(r"\left(x + y\right)", SIZE)
    assert all(g.sy == 1 for g in flat.glyphs)
    tall = typeset(r"\left(\frac{x + 1}{\left(y - 1\right)^{2}}\right)", SIZE)
    paren = _glyph(tall, "(")
    assert paren.sy > 1.2
    low, high = _ink_box(paren)[1], _ink_box(paren)[3]
    inside = [_ink_box(g) for g in tall.glyphs[1:-1]]
    assert high >= max(b[3] for b in inside) - 0.1 * SIZE - 1e-9
    assert low <= min(b[1] for b in inside) + 0.1 * SIZE + 1e-9
    assert tall.glyphs[-1].char == ")" and tall.glyphs[-1].sy == paren.sy
    for tex in (r"\left[\frac{1}{x}\right]", r"\left|\frac{1}{x}\right|"):
        assert typeset(tex, SIZE).glyphs[0].sy > 1
    assert typeset(r"\left.\frac{1}{x}\right|", SIZE).glyphs[0].char == "1"


def test_square_root_sign_and_bar_over_the_body():
    box = typeset(r"\sqrt{x + 1}", SIZE)
    assert box.text() == "√x+1" and len(box.rules) == 1
    bar, body = box.rules[0], [_ink_box(g) for g in box.glyphs[1:]]
    assert bar.y > max(b[3] for b in body)
    assert bar.x <= min(b[0] for b in body) and bar.x + bar.w >= max(b[2] for b in body)
    sign = _ink_box(box.glyphs[0])
    assert sign[3] == pytest.approx(bar.y + bar.h, abs=0.05)
    cube = typeset(r"\sqrt[3]{x}", SIZE)
    assert cube.text() == "3√x" and _glyph(cube, "3").size < SIZE and _glyph(cube, "3").y > 0
    deep = typeset(r"\sqrt{\frac{1}{x}}", SIZE)
    assert deep.glyphs[0].sy > box.glyphs[0].sy


def test_spaces_and_text():
    w = [width(t, SIZE) for t in (r"a\!b", "ab", r"a\,b", r"a\;b", r"a\quad b", r"a\qquad b")]
    assert w == sorted(w) and len(set(w)) == 6
    assert width("a~b", SIZE) > width("ab", SIZE)
    assert typeset(r"\text{forward pass}", SIZE).text() == "forward pass"
    assert typeset(r"\texttt{a\_b\~{}c\^{}d~e}", SIZE).text() == "a_b~c^d e"
    assert typeset(r"\texttt{x}", SIZE).glyphs[0].font == "mono"
    plus_eq = typeset(r"\mathrm{dx} \mathrel{+}= 1", SIZE)
    assert plus_eq.text() == "dx+=1"
    plus, eq = _glyph(plus_eq, "+"), _glyph(plus_eq, "=")
    assert _ink_box(eq)[0] - _ink_box(plus)[2] < 0.15 * SIZE   # one relation: no space inside
    assert width("a b", SIZE) == width("ab", SIZE)         # spaces in math are ignored
    assert typeset(r"\!x", SIZE).glyphs[0].x >= 0


def test_results_are_cached_but_safe_to_change():
    a = typeset(r"\frac{1}{x}", SIZE)
    a.glyphs.clear()
    a.width = 0
    b = typeset(r"\frac{1}{x}", SIZE)
    assert b.glyphs and b.width > 0 and b is not a
    assert typeset("$x - y$", SIZE).text() == "x−y"
    assert typeset("", SIZE).width == 0


@pytest.mark.parametrize("tex, fragment", [
    (r"\foo x", r"\foo"),
    (r"\frac{1}{x", "never closed"),
    (r"x}", "closes nothing"),
    (r"\left( x", r"\right"),
    (r"x \right)", r"\left"),
    (r"x^{2}^{3}", "double superscript"),
    (r"x_1_2", "double subscript"),
    (r"\begin{matrix} 1 & 2 \end{matrix}", "environments"),
    (r"a & b", "&"),
    (r"a \\ b", "line breaks"),
    (r"\sqrt[3{x}", "without its ]"),
    (r"\left\foo x \right)", "not a delimiter"),
    (r"\frac{1}", "argument is missing"),
    ("{" * 500 + "}" * 500, "nested"),
    ("x^{" * 300 + "x" + "}" * 300, "nested"),
    (r"\sqrt{" * 100 + "x" + "}" * 100, "nested"),
    ("x" * 60_000, "too long"),
    (r"\mathbb{q}", "mathbb"),
    ("中", "no font"),
])
def test_unsupported_raises_one_line_math_error(tex, fragment):
    with pytest.raises(MathError) as info:
        typeset(tex, SIZE)
    msg = str(info.value)
    assert fragment in msg and "\n" not in msg
    assert isinstance(info.value, ValueError) and isinstance(info.value, DeriveError)


def test_bad_size_and_type():
    with pytest.raises(MathError):
        typeset("x", 0)
    with pytest.raises(MathError):
        typeset(None, SIZE)


def test_random_token_soup_raises_only_math_error():
    """Hostile or broken LaTeX: a Box inside its bounds or a MathError, never anything else."""
    import random

    pieces = [r"\frac", "{", "}", "^", "_", "x", "2", r"\left(", r"\right)", r"\left", r"\right",
              r"\sqrt", "-", "+", "=", r"\mathrm", r"\text{a b}", r"\text", "&", r"\alpha", r"\,",
              "'", r"\foo", "[", "]", "|", ".", "\\\\", " ", "$", r"\hat", r"\operatorname{",
              r"\begin", "~", r"\!", r"\displaystyle", r"\big(", r"\mathbf", r"\{", r"\cdot", "(",
              ")", r"\left.", r"\right|", r"\overline", r"\log", "\\"]
    rng = random.Random(16)
    made = 0
    for _ in range(3000):
        tex = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        try:
            box = typeset(tex, SIZE)
        except MathError as err:
            assert "\n" not in str(err)
            continue
        made += 1
        _check_bounds(box, tex)
    assert made > 100
    deep = r"\mathrm" * 10_000 + "x"
    with pytest.raises(MathError):
        typeset(deep, SIZE)


def test_ink_bounds_read_from_glyf_agree_with_fonttools():
    ttlib = pytest.importorskip("fontTools.ttLib")
    for name in ("serif", "serif-italic", "serif-bold"):
        f = fonts.font(name)
        tt = ttlib.TTFont(f.path, lazy=True)
        glyf, order = tt["glyf"], tt.getGlyphOrder()
        for ch in [c for c in "x(√−∑gfjσ∂1" if f.has(c)]:
            g = glyf[order[f.glyph(ch)]]
            g.expand(glyf)
            want = tuple(getattr(g, k) / f.units for k in ("xMin", "yMin", "xMax", "yMax"))
            assert ink(name, ch) == pytest.approx(want), (name, ch)
        assert ink(name, " ") == (0.0, 0.0, 0.0, 0.0)


def test_style_commands_set_the_size():
    assert typeset(r"\scriptstyle x", SIZE).glyphs[0].size == pytest.approx(0.7 * SIZE)
    assert typeset(r"x^{\textstyle y}", SIZE).glyphs[1].size == SIZE
    display = typeset(r"\displaystyle \frac{a}{b}", SIZE)
    assert display.glyphs[0].size == SIZE and display.height > typeset(r"\frac{a}{b}", SIZE).height
