md(r"""
# 4. Staged computation

*The derive course, notebook 4.* This is the CS231n notes' showcase, *Backprop in practice:
staged computation*, for a deliberately useless function:

$$f(x, y) = \frac{x + \sigma(y)}{\sigma(x) + (x + y)^2} \qquad\text{at}\qquad x = 3,\ y = -4.$$

Differentiating this by hand gives a large, error-prone formula. The notes' point is that you never
need that formula: write the forward pass in small stages, each with a trivial local gradient, then
walk back through them. We do exactly that with derive, and meet the one rule that catches everyone
out: **gradients add up at forks** (`+=`).
""")

code(r"""
import math

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, Math, display

from derive import check, stage
from derive.staging.evaluate import run_many
from derive.symbolic.examples import CS231N_FXY, CS231N_FXY_CODE
from derive.exercises import check as check_exercise
from derive.printing.printers import code
""")

md(r"""
## The notes' forward pass, staged by derive

Here is the forward pass as the notes write it, eight stages with comments. derive reads the
function, keeps its names, and generates the backward pass.
""")

code(r"""
print(CS231N_FXY_CODE)
""")

code(r"""
fxy = stage(CS231N_FXY_CODE)
fxy
""", check=True)

md(r"""
Compare the backward pass with the notes' own, line by line: it is the same code. Each line
is one stage's local gradient times the upstream gradient, and the comment `# (7)` says which
forward line it differentiates (the notes mark theirs the same way). derive even spells `dxpy`
consistently, where the notes' hand-written version has a typo (`dxdpy`). As mathematics:
""")

code(r"""
Math(fxy.to_latex())
""")

md(r"""
## The numbers

Run it at $x = 3$, $y = -4$. `exact=True` evaluates with 50 significant digits and rounds each number
once, so these are the correctly rounded values:
""")

code(r"""
r = fxy.run(x=3, y=-4, exact=True)
display(Markdown(fxy.to_markdown(r)))
""", check=True)

code(r"""
print("f     =", r.value)
print("df/dx =", r.grad["x"])
print("df/dy =", r.grad["y"])
""", check=True)

md(r"""
So near $(3, -4)$, nudging $x$ up by a small $h$ raises $f$ by about $2.06\,h$, and nudging $y$ raises
it by about $1.59\,h$.

The same function written as one expression string stages slightly differently: derive uses a
division gate `f = num/den` (local gradients $1/\text{den}$ and $-\text{num}/\text{den}^2$) instead
of the notes' `invden = 1.0 / den` followed by a product. Seven stages instead of eight, same numbers:
""")

code(r"""
expr_prog = stage(CS231N_FXY)
r2 = expr_prog.run(x=3, y=-4, exact=True)
print(CS231N_FXY)
print(len(expr_prog.forward), "forward lines,", len(expr_prog.backward), "backward lines")
print("same gradient:", r2.grad == r.grad, r2.grad)
""", check=True)

md(r"""
## Cache the forward values

The backward pass reads forward values: `dden` needs `den`, the sigmoid lines need `sigx` and
`sigy`, the square needs `xpy`. That is why implementations keep (cache) the forward variables
until the backward pass is done. derive's backward lines are data, so we can list what each one reads:
""")

code(r"""
forward_names = {ln.target for ln in fxy.forward} | set(fxy.inputs)
for bl in fxy.backward:
    reads = sorted(s.name for s in bl.local.free_symbols if s in forward_names)
    print(f"{code(bl):34s} reads forward values: {', '.join(reads) or '-'}")
""", check=True)

md(r"""
## Gradients add up at forks

$x$ is used **three** times in the forward pass (in `num`, `sigx` and `xpy`) and $y$ twice. Each use is
a separate path along which a change in $x$ reaches $f$, and the multivariable chain rule says the
total sensitivity is the **sum** over the paths. In code: the first backward line that reaches `x`
writes `dx = ...`; every later one must **add**, `dx += ...`. derive marks those lines:
""")

code(r"""
for bl in fxy.backward:
    if bl.accumulate:
        print(f"{code(bl):34s} # ({bl.ref})  {bl.var} is used {bl.uses} times")
""", check=True)

md(r"""
Follow `dx` through the run. `r.steps` holds the value each backward line wrote, in order, so the
contribution of a line is how much it changed `dx`:
""")

code(r"""
rows = ["| backward line | path from x | dx after the line | this path's contribution |",
        "|---|---|---|---|"]
paths = {4: "x -> xpy -> xpysqr -> den -> invden -> f", 3: "x -> sigx -> den -> invden -> f",
         2: "x -> num -> f"}
previous = 0.0
for bl, value in zip(fxy.backward, r.steps):
    if bl.var.name == "x":
        rows.append(f"| `{code(bl)}` | {paths[bl.ref]} | {value:.6f} | {value - previous:+.6f} |")
        previous = value
display(Markdown("\n".join(rows)))
""", check=True)

md(r"""
On the circuit, the three wires leaving $x$ carry these three gradients (red, below each wire), and the
number under $x$ itself is their sum:
""")

code(r"""
fxy.circuit(x=3, y=-4)
""")

md(r"""
The three paths contribute about $+1.58$, $-0.04$ and $+0.51$; their sum is
$\partial f/\partial x \approx 2.06$. Had the backward pass written `dx = ...` on every line (the most
common bug in hand-written backprop), each line would *overwrite* the previous one and `dx` would
end up as the last path's contribution alone, $0.512$, a quarter of the right answer. This rule is
the **total derivative** in disguise; notebook 6 is about it.

Two independent references confirm the staged gradient (SymPy's derivative of the whole expression,
and finite differences of the function):
""")

code(r"""
print("gradient check:", "OK" if check(CS231N_FXY_CODE, at={"x": 3, "y": -4}).ok else "MISMATCH")
""", check=True)

md(r"""
## The gradient everywhere

A staged program runs on arrays too, so we can draw $f$ and its gradient (the arrows) around the
notes' point, marked with a dot. The arrows point uphill; there, both partial derivatives are
positive, so the arrow points up and to the right.
""")

code(r"""
X, Y = np.meshgrid(np.linspace(1, 5, 200), np.linspace(-6, -2, 200))
value, _ = run_many(fxy, {"x": X.ravel(), "y": Y.ravel()})
QX, QY = np.meshgrid(np.linspace(1, 5, 15), np.linspace(-6, -2, 15))
_, grad = run_many(fxy, {"x": QX.ravel(), "y": QY.ravel()})

fig, ax = plt.subplots(figsize=(5.5, 4.6))
cs = ax.contourf(X, Y, value.reshape(X.shape), levels=30, cmap="viridis")
fig.colorbar(cs, ax=ax, label="f(x, y)")
ax.quiver(QX, QY, grad["x"], grad["y"], color="white", alpha=0.8)
ax.plot([3], [-4], "o", color="red")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.set_title("f(x, y) and its staged gradient")
plt.show()
""")

md(r"""
## Exercises

1. Before running: in the backward pass, which line gives `dy` its first value, and which adds to it?
   What is the contribution of each of $y$'s two paths?
2. At $(x, y) = (0, 0)$, predict `xpy`, `den` and `dnum` without derive (use $\sigma(0) = 1/2$),
   then check.
3. Stage $g(x, y) = (x + y)(x - y)$. How many `+=` lines will the backward pass have, and for which
   variables? Predict the gradient at $(3, 1)$ (hint: $g = x^2 - y^2$).
4. Stage `x * x * x` and `x**3`. Both are $x^3$; how many `+=` lines does each backward pass have,
   and why do they differ?

### Your turn: graded cells

Replace each `raise NotImplementedError` with the backward pass and run the cell; derive's checker
reads your intermediate `d...` variables too, names the first wrong line, and spots the classic `=`
instead of `+=`. Untouched, a cell says "not attempted".

5. The notes' $f(x, y)$ with the notes' names (`dnum`, `dinvden`, `dden`, `dsigx`, `dxpysqr`,
   `dxpy`, `dsigy`, `dx`, `dy`); return `(dx, dy)`.
6. Exercise 3's $g = (x + y)(x - y)$: `ds`, `dd`, then `dx` and `dy` (each used twice).
7. $f = (xy + x)\,y$: `x` and `y` are each used twice.
""")

graded(r"""
def backward(x, y):
    # forward pass (given)
    sigy = 1.0 / (1 + math.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1 + math.exp(-x))
    xpy = x + y
    xpysqr = xpy**2
    den = sigx + xpysqr
    invden = 1.0 / den
    f = num * invden
    # backward pass, line by line in reverse
    # BEGIN SOLUTION
    dnum = invden
    dinvden = num
    dden = (-1.0 / den**2) * dinvden
    dsigx = dden
    dxpysqr = dden
    dxpy = (2 * xpy) * dxpysqr
    dx = dxpy
    dy = dxpy
    dx += ((1 - sigx) * sigx) * dsigx
    dx += dnum
    dsigy = dnum
    dy += ((1 - sigy) * sigy) * dsigy
    # END SOLUTION
    return dx, dy


check_exercise("staged_fxy", backward)
""")

graded(r"""
def backward(x, y):
    # forward pass (given)
    s = x + y
    d = x - y
    g = s * d
    # BEGIN SOLUTION
    ds = d
    dd = s
    dx = dd
    dy = -dd
    dx += ds
    dy += ds
    # END SOLUTION
    return dx, dy


check_exercise("exercises/diff_squares", backward)
""")

graded(r"""
def backward(x, y):
    # forward pass (given)
    a = x * y
    b = a + x
    f = b * y
    # BEGIN SOLUTION
    db = y
    dy = b
    da = db
    dx = db
    dx += y * da
    dy += x * da
    # END SOLUTION
    return dx, dy


check_exercise("exercises/fork_xy", backward)
""")

md(r"""
Answers to 1-4, revealed by derive:
""")

code(r"""
previous = 0.0
for bl, value in zip(fxy.backward, r.steps):
    if bl.var.name == "y":
        print(f"1. {code(bl):34s} contributes {value - previous:+.6f}")
        previous = value
r0 = fxy.run(x=0, y=0)
print("2. xpy =", r0.values["xpy"], " den =", r0.values["den"], " dnum =", r0.adjoints["dnum"])
g = stage("(x + y) * (x - y)")
print("3.", sum(bl.accumulate for bl in g.backward), "+= lines, for",
      sorted({bl.var.name for bl in g.backward if bl.accumulate}), "; gradient", g.run(x=3, y=1).grad)
for src in ["x * x * x", "x**3"]:
    p4 = stage(src)
    print(f"4. {src}: {sum(bl.accumulate for bl in p4.backward)} += lines")
""", check=True, reveal=True)

md(r"""
4: the number of `+=` lines depends only on how many times each value is *used*, not on its value:
in `x * x * x` the name `x` feeds gates more than once, and every use after the first needs a `+=`;
`x**3` is one gate that uses `x` once, with local gradient `3*x**2`.

To practise on paper: `derive sheet "(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)" --at x=3,y=-4
--worksheet --key -o fxy.pdf` prints this derivation as a worksheet (circuit, forward and backward
tables with blanks) and its answer key.

**Next:** [5. Expression swell](05-expression-swell.ipynb).
""")
