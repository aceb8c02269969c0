md(r"""
# 5. Expression swell

*The derive course, notebook 5.* The CS231n notes warn that differentiating $f(x, y)$ in full
"would end up with very large and complex expressions", and that you never need to. This notebook
measures that claim. derive can produce the **symbolic** gradient (SymPy's `diff` of the whole
function) in four forms (raw, simplified, expanded, and with common subexpressions eliminated)
and set each beside the **staged** program, measured the same way: number of operations, size of
the expression tree, distinct subexpressions, characters (the **ops**, **tree**, **dag** and
**chars** columns, explained under the first table).

The famous example is the logistic map from Baydin et al. (2018), *Automatic differentiation in
machine learning: a survey*: its symbolic derivative grows exponentially with depth, its staged
gradient linearly.
""")

code(r"""
import matplotlib.pyplot as plt
from IPython.display import Math, display

from derive import stage
from derive.symbolic.baydin import table_text
from derive.symbolic.compare import compare, swell
from derive.symbolic.examples import CS231N_FXY
from derive.symbolic.families import build
from derive.printing.printers import latex
from derive.symbolic.derivatives import gradient
""")

md(r"""
## One function, two derivations

SymPy's derivative of the notes' $f(x, y)$ with respect to $x$, as one formula:
""")

code(r"""
grad = gradient(CS231N_FXY)
display(Math(r"\frac{\partial f}{\partial x} = " + latex(grad["x"])))
display(Math(r"\frac{\partial f}{\partial y} = " + latex(grad["y"])))
""")

md(r"""
Not monstrous, but notice the repetition: $(x+y)^2 + \sigma(x)$ appears three times, $x + \sigma(y)$
twice. The staged program (notebook 4) computes each of those once and names it. `compare` measures
every form; the `seconds` column is how long SymPy took (it varies from run to run), `agrees` says
the form was evaluated at random points and matched the staged gradient.
""")

code(r"""
comparison = compare(CS231N_FXY, budget=5)
print("\n".join(comparison.to_text().split("\n")[:12]))
""")

md(r"""
How to read the columns. **ops** counts arithmetic operations. **tree** counts the nodes of the
formula written out as a *tree*, where a repeated piece is counted every time it appears: what you
would write by hand. **dag** counts *distinct* subexpressions: a directed acyclic graph stores a
repeated piece once and points to it from every use (that sharing is what staging and `cse` do).
**chars** and **latex** are the lengths of the printed Python and LaTeX.

Why is the staged program *longer* than the closed form here (more tree nodes and characters than
`raw`)? For a tiny function the bookkeeping dominates: the staged gradient includes its forward pass,
names every intermediate, and writes a line even for copies like `dx = dxpy`; the closed form has
none of that. The staged program pays a constant per gate, the closed form pays for every path
through the function, and that only wins once paths multiply (the families at depth 2-3 below are
still in the first regime; from there on the closed form swells).

The sizes (operation counts) alone, which are deterministic:
""")

code(r"""
for name, form in comparison.forms.items():
    print(f"{name:10s} {form['ops']:5d} operations")
""", check=True)

md(r"""
* **raw**: what `sympy.diff` returns, both partial derivatives.
* **simplified**: `sympy.simplify` tries many rewrites and keeps the shortest; barely helps here.
* **expanded**: multiplying everything out makes it ten times *bigger*.
* **cse**: *common subexpression elimination* pulls repeated pieces out into named temporaries:
  `x0 = ...; x1 = ...`. That is a staged program in all but name, and it is the only symbolic form as
  small as derive's staged gradient.

## Baydin et al.'s table: the logistic map

The logistic map $l_{n+1} = 4 l_n (1 - l_n)$, $l_1 = x$. derive reproduces the paper's Table 1:
$l_n$, its derivative as the product rule produces it, and the simplified derivative.
""")

code(r"""
print(table_text(4))
""", check=True)

md(r"""
Each level multiplies the number of terms in the raw derivative, because the product rule turns
$l_n (1 - l_n)$ into two terms, each of which contains the whole of $l_n$ again. The staged program
for $n = 4$, by contrast, is three lines per level, forward and backward:
""")

code(r"""
logistic4 = stage(build("logistic", 4).text)
logistic4
""", check=True)

md(r"""
## Swell with depth

`swell` measures every form at each depth. Simplification and expansion can take minutes on deep
inputs, so each form runs under a **time budget** and is reported as "gave up" when it takes longer
(here 1 second, deliberately short; a depth where a form gave up is not tried again at larger depths).
Which depth is the first to give up depends on the machine, because the budget is wall-clock time: a
faster or less busy computer gets further through `simplify` within one second. The sizes do not
depend on the machine: an operation count is a property of the formula.
""")

code(r"""
sw = swell("logistic", 8, budget=1)
print(sw.to_text())
""")

md(r"""
derive draws the table: operations on a log scale against depth, one line per form, a cross where
a form gave up.
""")

code(r"""
_ = sw.plot()
""")

md(r"""
On a log scale, exponential growth is a straight line going up: that is the raw derivative
(multiplied by about 3 per level). The staged program grows by a constant 8 operations per level, a
straight line on a *linear* scale, which on this plot flattens out. The numbers, from derive's own
measurements:
""")

code(r"""
def sizes(sw, form):
    return [(r["n"], r["forms"][form]["ops"]) for r in sw.rows
            if r["forms"][form]["status"] == "ok" and r["forms"][form]["ops"]]


# the raw form again, with a generous budget, so that these numbers never depend on the machine
raw = dict(sizes(swell("logistic", 8, budget=30, forms=("raw",)), "raw"))
for r in sw.rows:
    st = r["forms"]["staged"]
    print(f"n = {r['n']}: raw gradient {raw.get(r['n'], 0):5d} ops | staged {st['forward_ops']:3d} forward"
          f" + {st['backward_ops']:3d} backward ops")
""", check=True)

md(r"""
## Where SymPy gives up, the staged program keeps going

The raw symbolic derivative at depth 10 has about 34,000 operations and simplifying it takes minutes.
The staged program at depth 50 is still fewer than 150 forward lines, and evaluates instantly:
""")

code(r"""
deep = stage(build("logistic", 50).text)
r = deep.run(x=0.3)
print(len(deep.forward), "forward lines,", len(deep.backward), "backward lines,",
      deep.forward_ops, "forward ops,", deep.backward_ops, "backward ops")
print("backward / forward cost:", round(deep.backward_ops / deep.forward_ops, 3))
""", check=True)

md(r"""
The ratio backward/forward is the **cheap gradient principle**: reverse mode computes the whole
gradient for a small constant times the cost of the function itself (at most about 3), however deep.

## Other families

The logistic map is extreme because every level uses the previous value twice. Other shapes swell
differently. `build` gives the families derive knows; below, the raw symbolic gradient against the
staged program for three more (raw only, to stay fast):

* `nested-sigmoid`: $\sigma(\sigma(\cdots\sigma(x)))$, a pure chain: the raw derivative grows only
  quadratically (each level repeats the inner sigmoid);
* `mlp`: $n$ layers of two sigmoid neurons with scalar weights: swells fastest, since each neuron
  feeds both neurons of the next layer;
* `product`: $x_1 x_2 \cdots x_n$: each of the $n$ partial derivatives is a product of $n - 1$ factors,
  $O(n^2)$ in total, while the staged backward pass shares the partial products, $O(n)$.
""")

code(r"""
families = {"nested-sigmoid": 6, "mlp": 3, "product": 8}
results = {name: swell(name, depth, budget=30, forms=("raw",)) for name, depth in families.items()}
fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
for ax, (name, res) in zip(axes, results.items()):
    ax.semilogy(*zip(*sizes(res, "raw")), "o-", label="raw symbolic")
    ax.semilogy(*zip(*sizes(res, "staged")), "k*-", label="staged")
    ax.set_title(name)
    ax.set_xticks([n for n, _ in sizes(res, "staged")])
    ax.set_xlabel("depth n")
axes[0].set_ylabel("operations (log scale)")
axes[0].legend()
fig.tight_layout()
plt.show()
""")

code(r"""
for name, res in results.items():
    print(name, "raw:", sizes(res, "raw"))
    print(" " * len(name), "staged:", sizes(res, "staged"))
""", check=True)

md(r"""
## Summary

* The symbolic gradient is one expression; written out, it repeats shared work, and the repetition
  compounds with depth (exponentially when values fork, as in the logistic map or a network).
* `simplify` and `expand` do not rescue it: they are slow and often make it bigger.
* `cse` recovers the sharing by naming repeated subexpressions, which is what staging does from the
  start, by construction, in time linear in the size of the function.

## Exercises

1. Before running: how many operations does the raw gradient of the logistic map have at $n = 3$,
   and how many does the staged program have in total?
2. Stage `product` at $n = 5$ (`build("product", 5).text`) and read its backward pass. Where are the
   shared partial products?
3. Compare `nested-sigmoid` at depth 3 with `gates="primitive"`: how do the staged sizes change?
4. Why does `expanded` get *bigger* than `raw` for the notes' $f(x, y)$ but smaller for the logistic map?

### Your turn: graded cells

The staged program stays small because you never write the whole derivative, only one line per
gate. Write these backward passes yourself (replace `raise NotImplementedError`, run the cell; derive's
checker grades each line). Untouched, a cell says "not attempted".

5. Two steps of the logistic map $l_{k+1} = 4\,l_k(1 - l_k)$, staged one gate per line.
6. The product $xyzw$ with its shared partial products `p1`, `p2`.
7. `nested-sigmoid` at depth 3: three sigmoid gates, each with local gradient $s(1 - s)$.
""")

code(r"""
import math

from derive.exercises import check as check_exercise
""")

graded(r"""
def backward(x):
    # forward pass (given)
    o1 = 1 - x
    p1 = x * o1
    l1 = 4 * p1
    o2 = 1 - l1
    p2 = l1 * o2
    l2 = 4 * p2
    # backward pass: dp2, dl1, do2, dp1, dx, do1 (l1 and x are each used twice)
    # BEGIN SOLUTION
    dp2 = 4.0
    dl1 = o2 * dp2
    do2 = l1 * dp2
    dl1 += -do2
    dp1 = 4 * dl1
    dx = o1 * dp1
    do1 = x * dp1
    dx += -do1
    # END SOLUTION
    return dx


check_exercise("exercises/logistic2", backward)
""")

graded(r"""
def backward(x, y, z, w):
    # forward pass (given)
    p1 = x * y
    p2 = p1 * z
    f = p2 * w
    # BEGIN SOLUTION
    dp2 = w
    dw = p2
    dp1 = z * dp2
    dz = p1 * dp2
    dx = y * dp1
    dy = x * dp1
    # END SOLUTION
    return dx, dy, dz, dw


check_exercise("exercises/product4", backward)
""")

graded(r"""
def backward(x):
    # forward pass (given)
    s1 = 1 / (1 + math.exp(-x))
    s2 = 1 / (1 + math.exp(-s1))
    s3 = 1 / (1 + math.exp(-s2))
    # BEGIN SOLUTION
    ds2 = s3 * (1 - s3)
    ds1 = s2 * (1 - s2) * ds2
    dx = s1 * (1 - s1) * ds1
    # END SOLUTION
    return dx


check_exercise("exercises/nested_sigmoid", backward)
""")

code(r"""
# answers, revealed by derive
print("1. raw", raw[3], "ops; staged", sw.rows[2]["forms"]["staged"]["ops"], "ops")
print("2.")
print(stage(build("product", 5).text).to_text())
for gates in ["grouped", "primitive"]:
    p = stage(build("nested-sigmoid", 3).text, gates=gates)
    print(f"3. {gates}: {len(p.forward)} forward lines, {p.forward_ops + p.backward_ops} ops")
""", check=True, reveal=True)

md(r"""
4: expanding a polynomial (the logistic map) collects like terms, so it shrinks; expanding a
quotient of sums with sigmoids only multiplies products out, with nothing to collect.

**Next:** [6. The total derivative](06-total-derivative.ipynb).
""")
