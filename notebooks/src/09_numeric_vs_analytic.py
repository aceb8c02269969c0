md(r"""
# 9. Numeric versus analytic gradients

*The derive course, notebook 9.* There are two ways to get a gradient out of a computer:

* **analytic**: differentiate the program, as derive's staged backward pass does (and as every
  deep-learning framework does), giving the exact derivative up to rounding;
* **numeric**: evaluate the function at nearby points and take a difference quotient,
  $\frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}$ (central differences).

Numeric gradients are simple and need no derivative rules at all, which makes them the perfect
**check** for analytic ones: that is *gradient checking*. But they are approximate and expensive, which
is why nobody trains with them. This notebook measures both claims.
""")

code(r"""
import time

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from derive import check, stage
from derive.symbolic.chainrule import numeric_cost, text_table
from derive.oracle.check import numeric_gradient
from derive.symbolic.examples import CS231N_FXY, NEURON_CODE
""")

md(r"""
Throughout, errors are **relative errors** as CS231n defines them: $|a - n| / \max(|a|, |n|)$ for an
analytic value $a$ and a numeric one $n$ (zero when both are zero):
""")

code(r"""
def rel_err(a, n):
    # CS231n's relative error: |a - n| / max(|a|, |n|), and 0 when both are 0
    top = max(abs(a), abs(n))
    return abs(a - n) / top if top > 0 else 0.0
""")

md(r"""
## The same gradient, two ways

derive's `numeric_gradient` takes central differences of the function's **value** only (it never
looks at the backward pass). At the CS231n notes' point it agrees with the staged gradient to about
ten digits:
""")

code(r"""
prog = stage(CS231N_FXY)
exact = prog.run(x=3, y=-4, exact=True).grad
numeric = numeric_gradient(CS231N_FXY, {"x": 3, "y": -4})
for k in exact:
    print(f"d/d{k}: staged {exact[k]:.10f}   numeric {numeric[k]:.10f}")
""", check=True)

code(r"""
for k in exact:
    print(f"d/d{k}: relative error {rel_err(numeric[k], exact[k]):.1e}")
""")

md(r"""
## Choosing the step $h$

The difference quotient has two error sources pulling in opposite directions:

* **truncation error**: the function is not a straight line over $[x - h, x + h]$. For central
  differences this error shrinks like $h^2$;
* **rounding error**: $f(x+h)$ and $f(x-h)$ are nearly equal floating-point numbers, and subtracting
  them loses digits. This error grows like $\varepsilon / h$, where $\varepsilon \approx 10^{-16}$ is the
  float64 precision.

Sweep $h$ over many orders of magnitude and measure the error against derive's correctly rounded
gradient:
""")

code(r"""
hs = np.logspace(-13, 0, 40)
errors = [rel_err(numeric_gradient(CS231N_FXY, {"x": 3, "y": -4}, h=h)["x"], exact["x"]) for h in hs]
fig, ax = plt.subplots(figsize=(6.2, 3.6))
ax.loglog(hs, errors, "o-", ms=3)
ax.loglog(hs, hs**2, "--", color="gray", label="slope 2: truncation ~ h^2")
ax.loglog(hs, 1e-16 / hs, ":", color="gray", label="slope -1: rounding ~ eps/h")
ax.set_ylim(1e-13, 1)
ax.set_xlabel("step h")
ax.set_ylabel("relative error of df/dx")
ax.set_title("central differences at the CS231n point")
ax.legend()
plt.show()
best = hs[int(np.argmin(errors))]
print(f"smallest error near h = 1e{np.log10(best):.0f}")
""")

md(r"""
The V shape is the lesson: too large an $h$ measures the wrong slope, too small an $h$ drowns in
rounding. Around $h \approx 10^{-5}$ (about $\varepsilon^{1/3}$) the error is smallest and is still
around $10^{-10}$ to $10^{-11}$, nowhere near the 16 digits of the analytic gradient. derive's default is
$h = 10^{-6}$ scaled to the size of the input.

## Gradient checking

To check an analytic gradient, compare it with central differences at a few random points using the
**relative** error $|a - n| / \max(|a|, |n|)$ (a fixed absolute tolerance would be meaningless for
gradients of size $10^{6}$ and far too lax for gradients of size $10^{-6}$). CS231n's rule of thumb:
above $10^{-2}$ the gradient is probably wrong, below $10^{-7}$ you should be happy; with kinks, $10^{-4}$
is acceptable. derive's `check` does
that, plus a comparison with SymPy's symbolic derivative, and derive's own test suite calls it on
every example function:
""")

code(r"""
report = check(NEURON_CODE, points=5)
print("neuron gradient check:", "OK" if report.ok else "MISMATCH", "at", len(report.points), "points")
""", check=True)

md(r"""
A check that cannot fail proves nothing, so here is one that fails: the Q&A learner's rule from
notebook 3 (multiplying by the activation instead of its local gradient) gives the gradient of a
softplus neuron, and a gradient check against the *sigmoid* neuron's values catches it immediately:
""")

code(r"""
point = {"w": [2, -3, -3], "x": [-1, -2]}
softplus = NEURON_CODE.replace("1.0 / (1 + math.exp(-dot))", "math.log(1 + math.exp(dot))")
learner = stage(softplus).run(**point).grad
numeric = numeric_gradient(NEURON_CODE, point)
worst = max(rel_err(a, b) for k in ("w", "x") for a, b in zip(learner[k], numeric[k]))
print(f"learner's rule vs finite differences: largest relative error {worst:.2f}")
""", check=True)

md(r"""
### Kinks

Functions with kinks, such as $\mathrm{relu}$ and $\max$, have no derivative at the kink, and a
difference quotient that straddles it measures an average slope. At $x = 0$ the central difference
of $\mathrm{relu}$ is $\tfrac12$, while derive (like every framework) uses the subgradient
$\mathrm{relu}'(0) = 0$. Close to the kink, but not on it, the numeric value is simply wrong when $h$
reaches across:
""")

code(r"""
relu = stage("relu(x)")
for x in [0.0, 1e-7, 0.5]:
    print(f"x = {x:7g}: staged {relu.run(x=x).grad['x']}, numeric (h = 1e-6) "
          f"{numeric_gradient('relu(x)', {'x': x}, h=1e-6)['x']:.3f}")
print("derive's note at x = 0:", *relu.run(x=0).notes)
""", check=True)

md(r"""
When a gradient check fails in a network with ReLUs, first check whether some input is within $h$
of a kink. derive's `check` evaluates at random points, where hitting a kink exactly has probability
zero, and every run says when a line was evaluated exactly at a kink (the note above).

## The cost

A numeric gradient needs **two evaluations of $f$ per input**. The analytic gradient needs one forward
and one backward pass, and the backward pass costs a small constant times the forward pass whatever
the number of inputs (the *cheap gradient principle*). Take a neuron with $n$ inputs and $n + 1$
weights, written as a staged Python function:
""")

code(r"""
def neuron_source(n):
    terms = " + ".join(f"w[{i}]*x[{i}]" for i in range(n))
    return f"def neuron(w, x):\n    return sigmoid({terms} + w[{n}])\n"


print(neuron_source(3))
rows = []
for n in [2, 8, 32, 128]:
    p = stage(neuron_source(n))
    inputs = len(p.inputs)
    rows.append((n, inputs, 2 * inputs, 2 * inputs * p.forward_ops, p.forward_ops + p.backward_ops))
display(Markdown("\n".join(
    ["| n | inputs (w and x) | numeric: evaluations of f | numeric: operations | staged: forward + backward operations |",
     "|---|---|---|---|---|"] + [f"| {' | '.join(str(v) for v in row)} |" for row in rows])))
""", check=True)

md(r"""
The numeric gradient's cost grows with the *square* of the size here (inputs times the cost of one
evaluation), the staged gradient's only linearly.

The discussion sheet (problem 1(e)) makes the same count for its two-layer loss with $d \times d$
weight matrices: a finite-difference gradient with respect to $W_1$ needs $d^2 + 1$ evaluations of a
loss that costs $O(d^2)$, so $O(d^4)$ operations, against $O(d^2)$ for the staged backward pass. derive
counts both for $d = 2 \dots 6$ (and runs the finite differences, to show they agree):
""")

code(r"""
rows = numeric_cost(range(2, 7))
print(text_table(rows, ["d", "forward_ops", "fd_evaluations", "fd_ops", "staged_ops"]))
print("both gradients agree:", all(r["fd_max_error"] < 1e-6 for r in rows))
""", check=True)

md(r"""

Timings tell the same story. (They vary from run to run and machine to machine; no number in this
cell is part of the lesson, only the trend.)
""")

code(r"""
sizes = [2, 8, 32, 128]
t_numeric, t_staged = [], []
rng = np.random.default_rng(0)
for n in sizes:
    src = neuron_source(n)
    p = stage(src)
    pt = {"w": list(rng.normal(size=n + 1)), "x": list(rng.normal(size=n))}
    p.run(**pt)  # compile once
    start = time.perf_counter()
    numeric_gradient(p, pt)
    t_numeric.append(time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(20):
        p.run(**pt)
    t_staged.append((time.perf_counter() - start) / 20)

fig, ax = plt.subplots(figsize=(6, 3.4))
ax.loglog(sizes, t_numeric, "o-", label="numeric gradient (2 evaluations per input)")
ax.loglog(sizes, t_staged, "s-", label="staged forward + backward")
ax.set_xlabel("n (neuron inputs)")
ax.set_ylabel("seconds per gradient")
ax.legend()
plt.show()
""")

md(r"""
## Summary

| | analytic (staged backward pass) | numeric (central differences) |
|---|---|---|
| accuracy | exact up to rounding (~16 digits) | ~10 digits at best, needs a good $h$ |
| cost | a small constant times one evaluation | 2 evaluations per input |
| needs | derivative rules for every gate | only the function's value |
| use it for | training | checking the analytic gradient |

## Exercises

1. How many evaluations of $f$ does a numeric gradient of the CS231n neuron (inputs $w$ and $x$) need?
2. For $f(x) = e^x$ at $x = 1$, which step gives the smaller error, $h = 10^{-2}$ or $h = 10^{-9}$?
   Predict the error of each (truncation $\approx h^2 f'''/6$, rounding $\approx \varepsilon/h$).
3. $\max(x, y)$ at $x = y = 1$: what does derive's staged gradient say, and what do central
   differences say? Why are both "right"?
4. Why is a relative error of $10^{-3}$ alarming for the neuron above but not for a loss computed in
   float32?

### Your turn: graded cells

Here you write **numeric** gradients, and derive's checker compares them with its staged (analytic)
gradient: a numeric gradient that passes agrees with the analytic one to the checker's relative
tolerance of $10^{-5}$. Replace each `raise NotImplementedError` with central differences and run
the cell; untouched, a cell says "not attempted".

5. The notes' $f(x, y)$: `dx` and `dy` by central differences with $h = 10^{-5}$.
6. The CS231n neuron: `dw` (3 numbers) and `dx` (2 numbers), one pair of evaluations per input.
7. CS231n's matrix multiply $D = WX$ with upstream `dD`: `dW` and `dX` as NumPy arrays, by central
   differences of $\sum_{ij} dD_{ij} D_{ij}$ entry by entry (`np.ndindex` walks the entries).
""")

code(r"""
import math

from derive.exercises import check as check_exercise
""")

graded(r"""
def backward(x, y):
    def f(x, y):  # the notes' f(x, y), values only
        sig = lambda t: 1.0 / (1 + math.exp(-t))
        return (x + sig(y)) / (sig(x) + (x + y)**2)

    h = 1e-5
    # BEGIN SOLUTION
    dx = (f(x + h, y) - f(x - h, y)) / (2 * h)
    dy = (f(x, y + h) - f(x, y - h)) / (2 * h)
    # END SOLUTION
    return dx, dy


check_exercise("exercises/fxy_gradient", backward)
""")

graded(r"""
def backward(w, x):
    def f(w, x):  # the neuron, values only
        return 1.0 / (1 + math.exp(-(w[0]*x[0] + w[1]*x[1] + w[2])))

    h = 1e-5
    # BEGIN SOLUTION
    dw, dx = [], []
    for i in range(3):
        up, down = list(w), list(w)
        up[i] += h
        down[i] -= h
        dw.append((f(up, x) - f(down, x)) / (2 * h))
    for i in range(2):
        up, down = list(x), list(x)
        up[i] += h
        down[i] -= h
        dx.append((f(w, up) - f(w, down)) / (2 * h))
    # END SOLUTION
    return dw, dx


check_exercise("exercises/neuron_gradient", backward)
""")

graded(r"""
def backward(W, X, dD):
    def f(W, X):  # the number whose gradient is asked for: D = W @ X seen through dD
        return np.sum(dD * (W @ X))

    h = 1e-5
    # BEGIN SOLUTION
    dW, dX = np.zeros_like(W), np.zeros_like(X)
    for idx in np.ndindex(W.shape):
        E = np.zeros_like(W)
        E[idx] = h
        dW[idx] = (f(W + E, X) - f(W - E, X)) / (2 * h)
    for idx in np.ndindex(X.shape):
        E = np.zeros_like(X)
        E[idx] = h
        dX[idx] = (f(W, X + E) - f(W, X - E)) / (2 * h)
    # END SOLUTION
    return dW, dX


check_exercise("matmul", backward)
""")

code(r"""
# answers, revealed by derive
print("1.", 2 * len(stage(NEURON_CODE).inputs), "evaluations")
e1 = stage("exp(x)").run(x=1, exact=True).grad["x"]
for h in [1e-2, 1e-9]:
    print(f"2. h = {h:g}: relative error {rel_err(numeric_gradient('exp(x)', {'x': 1}, h=h)['x'], e1):.0e}")
print("   h near 1e-9:", ", ".join(f"{rel_err(numeric_gradient('exp(x)', {'x': 1}, h=h)['x'], e1):.0e}"
                                  for h in [1.1e-9, 1.3e-9, 1.7e-9, 2.3e-9]))
print("3. staged", stage("max(x, y)").run(x=1, y=1).grad,
      "numeric", {k: round(v, 6) for k, v in numeric_gradient("max(x, y)", {"x": 1, "y": 1}).items()})
""", check=True, reveal=True)

md(r"""
2: $h = 10^{-2}$ errs by the truncation, about $h^2 f^{(3)}/(6 f') \approx 2 \times 10^{-5}$. At
$h = 10^{-9}$ the estimate $\varepsilon/h \approx 10^{-7}$ is the *worst case* of rounding: the error
is the difference of the rounding errors of $f(x+h)$ and $f(x-h)$, which depends on how those two
numbers happen to round. At $h = 10^{-9}$ exactly it happens to be small; the steps next to it scatter
towards $10^{-7}$. Rounding error is erratic, truncation error is smooth: one more reason to stay
near $h = 10^{-5}$. 3: at a tie the function has no derivative; any split of the gradient with the two parts adding up to
one is a valid subgradient. derive splits it equally, and the central difference in each direction
happens to measure the same average. 4: float64 gradients should agree to about $10^{-7}$ or better;
float32 carries only about 7 digits, so $10^{-3}$ there can be rounding.

One notebook is left, and it turns the course around: you write the engine that wrote every
backward pass so far.

**Next:** [10. Loops and time](10-loops-and-time.ipynb).
""")
