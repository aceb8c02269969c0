md(r"""
# 6. The total derivative

*The derive course, notebook 6.* Backpropagation is often explained with the single-variable
chain rule, $\frac{dy}{dx} = \frac{dy}{dt}\frac{dt}{dx}$. That rule is only right when there is
**one path** from $x$ to $y$. In a network every weight influences the loss along many paths, and
the rule that is actually used is the **total derivative**: a *sum over paths*, each term a product
of local derivatives. In a staged program every `+=` line is one more term of that sum.

Seeds: the Berkeley discussion sheet, problem 1(a)-(b), and the article *The Total Derivative:
Correcting the Misconception of Backpropagation's Chain Rule*, section 2.1.
""")

code(r"""
import math

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from derive import check, stage
from derive.staging.evaluate import run_many
from derive.symbolic.examples import TOTAL_DERIVATIVE_CODE
from derive.exercises import check as check_exercise
from derive.symbolic.paths import count_paths, paths, total_derivative
""")

md(r"""
## One input, two routes

Take $f(x(t), y(t))$ with $x = \cos t$, $y = \sin t$ and $f = xy$. The input $t$ reaches $f$ along
two paths, $t \to x \to f$ and $t \to y \to f$. The total derivative (article, section 2.1) is

$$\frac{df}{dt} = \frac{\partial f}{\partial x}\frac{dx}{dt} + \frac{\partial f}{\partial y}\frac{dy}{dt}
= y\,(-\sin t) + x \cos t .$$

Each term is a product of local derivatives along one path; the terms add. Write the function as
staged code and let derive generate the backward pass:
""")

code(r'''
source = """
import math

def f(t):
    x = math.cos(t)
    y = math.sin(t)
    f = x * y
    return f
"""
prog = stage(source)
prog
''', check=True)

md(r"""
The last backward line is `dt += ...`: $t$ is used twice, so the second path's term is *added* to
the first. Run it at $t = 0.5$:
""")

code(r"""
r = prog.run(t=0.5, exact=True)
display(Markdown(prog.to_markdown(r)))
""", check=True)

md(r"""
derive can also take the total derivative apart, **path by path**: for each path from $t$ to $f$ the
local gradients along it, their product (the path's term), the backward lines that carry it (the
`+=` line is where it joins the others), and its value at the point. The sum of the terms is checked
against SymPy's derivative of the whole function:
""")

code(r"""
td = paths(prog, "t", at={"t": 0.5})
print(td)
""", check=True)

md(r"""
(As a check: $f = \cos t \sin t = \tfrac12 \sin 2t$, so $df/dt = \cos 2t = \cos 1 \approx 0.5403$.)

## The single-path mistake

Someone who applies the single-variable chain rule along one path, say through $y$, gets
$\frac{\partial f}{\partial y}\frac{dy}{dt} = x\cos t \approx 0.770$, which is 43% too large; through
$x$ alone they get $-0.230$, the wrong sign (the last two lines of derive's report). The picture shows why: the slope of $f(t)$ at $t = 0.5$
(derive's gradient) against the slopes the two one-path answers would claim.
""")

code(r"""
ts = np.linspace(0, 1.2, 200)
values, _ = run_many(prog, {"t": ts})
fig, ax = plt.subplots(figsize=(6.5, 3.6))
ax.plot(ts, values, lw=2, label="f(t) = cos t sin t")
near = np.linspace(0.2, 0.8, 10)
ax.plot(near, r.value + r.grad["t"] * (near - 0.5), "k-", label=f"total derivative {r.grad['t']:.3f}")
for path, style in zip(td.paths, ["--", ":"]):
    route = " -> ".join(s.name for s in path.nodes)
    ax.plot(near, r.value + path.value * (near - 0.5), style, label=f"one path only ({route}): {path.value:.3f}")
ax.plot([0.5], [r.value], "ko")
ax.set_xlabel("t")
ax.legend(fontsize=8)
plt.show()
""")

md(r"""
Only the sum of both terms is tangent to the curve.

## Discussion sheet 1(a): $\ell(x) = h(f(x), g(x))$

With $f(x) = x^2$, $g(x) = x$ and $h(x_1, x_2) = x_1^2 + x_2^2$, the sheet computes
$\ell(x) = x^4 + x^2$ and $\ell'(x) = 2f(x)f'(x) + 2g(x)g'(x) = 4x^3 + 2x$, so $\ell'(2) = 36$.

First the pieces, each a *partial* derivative in which the other inputs are held fixed: $h$ as a
function of two independent inputs, evaluated at $(x_1, x_2) = (f(2), g(2)) = (4, 2)$, and the two
inner functions.
""")

code(r"""
h = stage("x1**2 + x2**2").run(x1=4, x2=2)
df = stage("x**2").run(x=2)
dg = stage("x").run(x=2)
print("dh/dx1 =", h.grad["x1"], "  dh/dx2 =", h.grad["x2"])
print("df/dx  =", df.grad["x"], "  dg/dx  =", dg.grad["x"])
""", check=True)

md(r"""
The total derivative combines them, one product per path:
$\frac{d\ell}{dx} = \frac{\partial h}{\partial x_1}\frac{df}{dx} + \frac{\partial h}{\partial x_2}\frac{dg}{dx}
= 8 \cdot 4 + 4 \cdot 1 = 32 + 4 = 36$. derive's `total_derivative` composes the outer function
with the inner ones (each inner function kept as its own named stage) and lists the paths; the
single-path answer through $f$ is 32, off by 4:
""")

code(r"""
print(total_derivative("f**2 + g**2", {"f": "x**2", "g": "x"}, output="l", at={"x": 2}))
""", check=True)

md(r"""
Now stage the whole function as the sheet writes it, as one Python function:
""")

code(r"""
print(TOTAL_DERIVATIVE_CODE)
sheet = stage(TOTAL_DERIVATIVE_CODE)
sheet
""", check=True)

md(r"""
Each inner function is a line of its own (`g = x` included), and the fork is at `x`: the backward pass
reaches `x` twice, first through `g` (`dx = dg`) and then through `f` (`dx += (2*x) * df`):
""")

code(r"""
rs = sheet.run(x=2, exact=True)
display(Markdown(sheet.to_markdown(rs)))
print("l(2) =", rs.value, "  dl/dx =", rs.grad["x"])
""", check=True)

md(r"""
`dx` first receives the path through $g$, $2g \cdot 1 = 4$, and then adds the path through $f$,
$2f \cdot 2x = 32$: the same two terms as the formula, in the order the reverse sweep meets them.
Notice what the backward pass did *not* do: it never multiplied out a path from end to end. Each
line multiplies one local gradient into a number that already holds everything downstream of it
(`df` is computed once and used by every path through $f$). That sharing of common path segments
is why backpropagation stays cheap when the number of paths explodes.

## Why it matters: the number of paths explodes

Sharing values makes paths multiply. The logistic map $\ell_{k+1} = 4\,\ell_k(1 - \ell_k)$ uses each
$\ell_k$ twice, so the number of paths from $x = \ell_0$ to $\ell_n$ doubles with every step: $2^n$
terms in the total derivative. The staged backward pass does not list them; it visits each line once.
derive counts the paths of its staged program (`count_paths`, without listing them) and we compare
with the number of backward lines:
""")

code(r"""
def logistic_source(n):
    lines = [f"    l{k} = 4 * l{k - 1} * (1 - l{k - 1})" for k in range(1, n + 1)]
    return "def logistic(l0):\n" + "\n".join(lines) + f"\n    return l{n}\n"


print(logistic_source(2))
rows = []
for n in [1, 2, 4, 8, 12, 16, 20]:
    p = stage(logistic_source(n))
    rows.append((n, count_paths(p)[p.inputs[0]], len(p.backward), p.backward_ops))
    print(f"n = {n:2d}: {rows[-1][1]:8d} paths from l0 to l{n}, {rows[-1][2]:3d} backward lines, "
          f"{rows[-1][3]:3d} backward ops")
""", check=True)

code(r"""
ns, npaths, nlines, _ = zip(*rows)
fig, ax = plt.subplots(figsize=(6, 3.4))
ax.semilogy(ns, npaths, "o-", label="paths (terms of the total derivative)")
ax.semilogy(ns, nlines, "s-", label="backward lines of the staged program")
ax.set_xlabel("n (steps of the logistic map)")
ax.legend()
plt.show()
""")

md(r"""
A million paths at $n = 20$, summed exactly by 81 backward lines (80 after the seed). And the staged gradient is still
the true total derivative (checked against SymPy's derivative of the whole expression and finite
differences):
""")

code(r"""
print("n = 8:", "OK" if check(logistic_source(8), points=3, low=0.1, high=0.9).ok else "MISMATCH")
""", check=True)

md(r"""
## In networks

In a network, a hidden activation feeds *every* neuron of the next layer, so the loss depends on it
along as many paths as there are neurons there. The gradient on that activation is the sum of the
contributions of all of them. In vector form that sum is a matrix product,
$\frac{\partial C}{\partial \mathbf{a}} = \frac{\partial C}{\partial \mathbf{z}}\,W$: the matrix product
*is* the total derivative (notebook 7). Notation warning from the discussion sheet: the literature
usually writes $\frac{\partial \ell}{\partial w}$ where it means the total derivative
$\frac{d\ell}{dw}$.

## Exercises

1. For $f(x(t), y(t)) = x^2 + y^2$ with $x = \cos t$, $y = \sin t$: how many paths, what are their
   terms, and what is the total? (Think about $x^2 + y^2$ first.)
2. For $\ell(x) = h(f(x), g(x))$ with $f = x^2$, $g = 3x$ and $h = x_1 x_2$: list the paths and their
   terms at $x = 1$, then the total. What would the single-path answers be?
3. Discussion sheet 1(b): $f(g_1(w), \dots, g_n(w))$. How many `+=` lines does the backward pass have
   for $w$? Try $n = 3$ with $g_i(w) = w^i$ and $f = g_1 + g_2 + g_3$.
4. How many paths from $l_0$ to $l_3$ has the logistic map, and how many backward lines?

### Your turn: graded cells

Replace each `raise NotImplementedError` with the backward pass and run the cell: derive's checker
runs it at a few points, names the first wrong line and recognises the usual mistakes (such as `=`
where `+=` is needed: the single-path mistake). Untouched, a cell says "not attempted".

5. The discussion sheet's $\ell(x)$, staged as `f = x**2`, `g = x`, `hf = f**2`, `hg = g * g`,
   `l = hf + hg`, with the adjoints `dhf`, `dhg`, `df`, `dg`, `dx`; return `dx`.
6. $f = \cos t \sin t$ from the start of this notebook: two paths from $t$.
7. Exercise 2's $h = f g$ with $f = x^2$, $g = 3x$.
""")

graded(r"""
def backward(x):
    # forward pass (given)
    f = x**2
    g = x
    hf = f**2
    hg = g * g
    l = hf + hg
    # backward pass, ending with dx
    # BEGIN SOLUTION
    dhf = 1.0
    dhg = 1.0
    dg = 2 * g * dhg
    df = 2 * f * dhf
    dx = dg
    dx += 2 * x * df
    # END SOLUTION
    return dx


check_exercise("total_derivative", backward)
""")

graded(r"""
def backward(t):
    # forward pass (given)
    x = math.cos(t)
    y = math.sin(t)
    f = x * y
    # BEGIN SOLUTION
    dx = y
    dy = x
    dt = math.cos(t) * dy
    dt += -math.sin(t) * dx
    # END SOLUTION
    return dt


check_exercise("exercises/circle", backward)
""")

graded(r"""
def backward(x):
    # forward pass (given)
    f = x**2
    g = 3 * x
    h = f * g
    # BEGIN SOLUTION
    df = g
    dg = f
    dx = 3 * dg
    dx += 2 * x * df
    # END SOLUTION
    return dx


check_exercise("exercises/paths_fg", backward)
""")

code(r'''
# answers to 1-4, revealed by derive
print("1.", paths("""
import math
def f(t):
    x = math.cos(t)
    y = math.sin(t)
    return x**2 + y**2
""", "t", at={"t": 0.5}))
print("2.", total_derivative("f * g", {"f": "x**2", "g": "3*x"}, output="l", at={"x": 1}))
p3 = stage("""
def f(w):
    g1 = w
    g2 = w**2
    g3 = w**3
    return g1 + g2 + g3
""")
print("3.", sum(bl.accumulate for bl in p3.backward if bl.var.name == "w"), "+= lines for w")
p4 = stage(logistic_source(3))
print("4.", count_paths(p4)[p4.inputs[0]], "paths,", len(p4.backward), "backward lines")
''', check=True, reveal=True)

md(r"""
1: two paths with terms $-2\cos t \sin t$ and $+2 \sin t \cos t$ that cancel exactly: $x^2 + y^2 = 1$
does not depend on $t$ at all. 2: the terms are $g \cdot 2x = 6x^2$ and $f \cdot 3 = 3x^2$, total
$9x^2 = 9$ at $x = 1$; the single-path answers are 6 and 3.

**Next:** [7. The vector chain rule](07-vector-chain-rule.ipynb).
""")
