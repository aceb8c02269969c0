md(r"""
# 1. Gradients as sensitivities

*The derive course, notebook 1.* You know what a derivative is. This notebook is about what a
derivative **tells you** when a function has several inputs, and about three tiny functions,
`x * y`, `x + y` and `max(x, y)`, that turn out to be the main characters of backpropagation.

Everything numeric below is computed by **derive**: you write the function, derive writes the
gradient code (a *staged program*) and runs it. Nothing in this notebook differentiates by hand.

The ideas follow the CS231n notes on backpropagation (Karpathy), sections *Simple expressions* and
*Patterns in backward flow*.
""")

code(r"""
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from derive import stage
from derive.staging.evaluate import run_many
""")

md(r"""
## The derivative is a sensitivity

For a function of one variable, the derivative is the slope of the best straight-line approximation
near a point:

$$f(x + h) \approx f(x) + h \, \frac{df}{dx} \qquad \text{for small } h.$$

With several inputs there is one such number per input, the **partial derivative**: hold the other
inputs fixed, wiggle one, and see how fast the output moves. The vector of all of them is the
**gradient** $\nabla f$. Read each entry as a *sensitivity*: "if I nudge this input up by a tiny $h$,
the output moves by (this number) $\times\, h$."

Take $f(x, y) = xy$ at $x = 4$, $y = -3$. We hand the expression to derive, which **stages** it:
it writes the forward pass one operation per line and then generates the backward pass, the lines
that compute the gradient.
""")

code(r"""
mul = stage("x * y")
mul
""", check=True)

md(r"""
The forward pass is a single line. The backward pass has one line per input: `dx = y` and
`dy = x`. (derive's convention, borrowed from CS231n: `dx` means $\partial f / \partial x$, the
gradient *of the final output* with respect to `x`.) Now run it at the point:
""")

code(r"""
r = mul.run(x=4, y=-3)
print("f     =", r.value)
print("df/dx =", r.grad["x"])
print("df/dy =", r.grad["y"])
""", check=True)

md(r"""
**Interpretation.** $\partial f/\partial x = -3$: increasing $x$ by a tiny amount *decreases* the
output (negative sign), three times as fast. $\partial f/\partial y = 4$: increasing $y$ increases
the output, four times as fast.

Let us test that claim: nudge each input by $h = 0.001$, let derive evaluate the function there, and
compare the actual change with the change the gradient predicts, $h \times$ (sensitivity).
""")

code(r"""
h = 0.001
for name in ["x", "y"]:
    point = {"x": 4, "y": -3}
    point[name] += h
    actual = mul.run(**point).value - r.value
    predicted = h * r.grad[name]
    print(f"nudge {name} by {h}: f changes by {actual:+.6f}, the gradient predicted {predicted:+.6f}")
""", check=True)

md(r"""
For a product the prediction is exact up to rounding, because $xy$ is linear in each input
separately. For curved functions the prediction is only good for small $h$. Take
$g(x, y) = \sin(x)\,y$ at $(1, 2)$ and nudge $x$ by smaller and smaller amounts:
""")

code(r"""
curved = stage("sin(x) * y")
rc = curved.run(x=1, y=2)
print("dg/dx at (1, 2) =", rc.grad["x"])
for h in [1.0, 0.1, 0.01, 0.001]:
    actual = curved.run(x=1 + h, y=2).value - rc.value
    predicted = h * rc.grad["x"]
    print(f"h = {h:<5}: g changes by {actual:+.7f}, the gradient predicted {predicted:+.7f}")
""", check=True)

md(r"""
With $h = 1$ the prediction is useless; with $h = 0.001$ it is off by less than 0.1%. That is the whole
point: **a derivative is a statement about tiny changes.** It says nothing about what happens if you
change $y$ from $-3$ to $+100$.

A picture of the same statement. Along the line $y = -3$, the function $x \mapsto xy$ *is* a straight
line, of slope $-3$: the gradient's $x$-entry. Along $y = 2$, $x \mapsto \sin(x)\,y$ is curved, and the
gradient gives the slope of the tangent, the best straight-line approximation near $x = 1$. The plot
evaluates both functions with derive on a grid (`run_many` runs a staged program on arrays) and draws
the tangent lines whose slopes derive computed.
""")

code(r"""
xs = np.linspace(2, 6, 50)
fx, _ = run_many(mul, {"x": xs, "y": np.full_like(xs, -3.0)})
cs = np.linspace(-0.5, 2.5, 100)
gx_values, _ = run_many(curved, {"x": cs, "y": np.full_like(cs, 2.0)})

fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
axes[0].plot(xs, fx, label="f(x, -3) = -3x")
axes[0].plot(xs, r.value + r.grad["x"] * (xs - 4), "--", label=f"slope df/dx = {r.grad['x']:g}")
axes[0].plot([4], [r.value], "ko")
axes[1].plot(cs, gx_values, label="g(x, 2) = 2 sin x")
near = np.linspace(0.2, 1.8, 10)
axes[1].plot(near, rc.value + rc.grad["x"] * (near - 1), "--", label=f"tangent, slope dg/dx = {rc.grad['x']:.3f}")
axes[1].plot([1], [rc.value], "ko")
for ax in axes:
    ax.set_xlabel("x")
    ax.legend()
fig.suptitle("each partial derivative is the slope of a tangent")
plt.show()
""")

md(r"""
### The gradient is a direction

Put the partial derivatives together and you get a vector, the gradient, and it points in the
direction in which $f$ grows fastest. derive can evaluate its staged program at many points at once,
so we can draw the gradient of $xy$ over a whole grid. The contour lines of $xy$ are hyperbolas and
every arrow crosses them at a right angle, pointing uphill. This is what "training" uses: to make a
loss *smaller*, step against the arrow.
""")

code(r"""
gx, gy = np.meshgrid(np.linspace(-3, 3, 13), np.linspace(-3, 3, 13))
value, grad = run_many(mul, {"x": gx.ravel(), "y": gy.ravel()})

fig, ax = plt.subplots(figsize=(4.6, 4.2))
fine = np.linspace(-3, 3, 200)
FX, FY = np.meshgrid(fine, fine)
fvalue, _ = run_many(mul, {"x": FX.ravel(), "y": FY.ravel()})
ax.contour(FX, FY, fvalue.reshape(FX.shape), levels=15, cmap="coolwarm", linewidths=0.8)
ax.quiver(gx, gy, grad["x"], grad["y"], color="k", alpha=0.7)
ax.set_aspect("equal")
ax.set_title("contours of x y and its gradient (from derive)")
plt.show()
""")

md(r"""
## Three gates and how they route the gradient

Backpropagation will treat every function as a *circuit* of small **gates**. Each gate knows two
things about itself: how to compute its output, and its **local gradient**, the derivative of its
output with respect to each of its inputs. Three gates appear everywhere in neural networks. Let us
ask derive for all three.
""")

code(r"""
gates = {"multiply": ("x * y", dict(x=4, y=-3)),
         "add": ("x + y", dict(x=4, y=-3)),
         "max": ("max(x, y)", dict(x=4, y=2))}
for name, (expr, point) in gates.items():
    r = stage(expr).run(**point)
    print(f"{name:8s} {expr:10s} at {point}: value {r.value:g}, gradient {r.grad}")
""", check=True)

md(r"""
* **The add gate distributes.** $\partial(x+y)/\partial x = \partial(x+y)/\partial y = 1$, whatever
  the values. Whatever gradient arrives at its output is passed to all its inputs unchanged.
* **The max gate routes.** The gradient is 1 for the input that won and 0 for the other. Nudging
  $y = 2$ a little does not change $\max(4, 2) = 4$ at all, so the sensitivity is exactly zero.
* **The multiply gate swaps.** The local gradient on $x$ is $y$ and on $y$ it is $x$: each input's
  sensitivity is the *other* input's value.

Here is the staged max gate. Its backward lines use a step function, `heaviside(x - y, 0.5)`: 1 if
$x > y$, 0 if $x < y$.
""")

code(r"""
stage("max(x, y)")
""", check=True)

md(r"""
What about a tie, $x = y$? There $\max$ has a kink and no derivative in the strict sense. Any number
between 0 and 1 for each input is a valid *subgradient*; derive's convention (the `0.5` above, the
same as SymPy's) splits the gradient equally, so the two numbers still add up to 1:
""")

code(r"""
tie = stage("max(x, y)").run(x=2, y=2)
print(tie.grad)
print("derive's note:", *tie.notes)
""", check=True)

md(r"""
## Patterns in backward flow: a small circuit

Now combine the three gates, as in the CS231n figure for *Patterns in backward flow*:

$$f(x, y, z, w) = 2\,\big(xy + \max(z, w)\big) \quad\text{at}\quad x = 3,\ y = -4,\ z = 2,\ w = -1.$$

derive stages it into four lines, one gate each, and generates the backward pass in reverse order.
Displaying the program shows both passes side by side; the number after each line, like `# (3)`,
says which forward line a backward line differentiates.
""")

code(r"""
patterns = stage("2 * (x*y + max(z, w))")
patterns
""", check=True)

md(r"""
Running it gives a value for every intermediate (forward) and every gradient (backward). derive can
lay the run out as a table:
""")

code(r"""
run = patterns.run(x=3, y=-4, z=2, w=-1)
display(Markdown(patterns.to_markdown(run)))
""", check=True)

md(r"""
The same run drawn as CS231n draws it: each wire carries its forward value in green above it and its
gradient in red below it.
""")

code(r"""
patterns.circuit(x=3, y=-4, z=2, w=-1)
""")

md(r"""
Read the backward table from the top, that is, from the output back towards the inputs:

1. The last gate multiplies by the constant 2, so the gradient arriving at the sum is `2.0`.
2. The **add** gate hands that `2.0` unchanged to both of its inputs, `dxy` and `dmaxzw`.
3. The **max** gate routes all of its `2.0` to `z` (it was larger: 2 > -1) and none to `w`.
4. The **multiply** gate swaps: `dx` is $y \times 2 = -8$ and `dy` is $x \times 2 = 6$.

Each gate only used its own inputs and the single number that arrived from above. That locality is
the whole trick of backpropagation, and the next notebook makes it precise with the chain rule.

### A consequence: the scale of the inputs matters

The multiply gate gives the *small* input a gradient as large as the *large* input's value. In a
linear classifier the weights are multiplied by the data, so multiplying all the data by 1000 makes
the gradients on the weights 1000 times larger:
""")

code(r"""
for x in [0.5, 500.0]:
    print(f"x = {x:6}: d(w*x)/dw =", stage("w * x").run(w=0.01, x=x).grad["w"])
""", check=True)

md(r"""
That is why preprocessing (scaling the data) changes how a network trains: the same learning rate
means a 1000 times larger step.

## Exercises

Make a prediction first, on paper, then run the answer cell: derive reveals the numbers.

1. For $f(x, y) = xy$ at $x = -2$, $y = 5$: what are $\partial f/\partial x$ and $\partial f/\partial y$?
   Which input should you increase to make $f$ larger, and which to make it smaller?
2. For $f(x, y) = \max(x, y) + x$ at $x = 1$, $y = 3$: how much gradient reaches $x$, and through
   which gate? What changes at $x = 4$?
3. In the circuit $2(xy + \max(z, w))$, set $w = 5$ instead of $-1$. Predict all four gradients.
4. For $f(x, y) = x + y + xy$ at $(1, 2)$, predict the gradient. (Hint: $x$ reaches the output
   through two gates; what happens to the two contributions?)
""")

code(r"""
# answers, revealed by derive
print("1.", stage("x * y").run(x=-2, y=5).grad)
print("2.", stage("max(x, y) + x").run(x=1, y=3).grad, "and at x = 4:",
      stage("max(x, y) + x").run(x=4, y=3).grad)
print("3.", patterns.run(x=3, y=-4, z=2, w=5).grad)
print("4.", stage("x + y + x*y").run(x=1, y=2).grad)
""", check=True, reveal=True)

md(r"""
### Your turn: write the backward lines, derive checks them

In the next three cells **you** write the gradient. Each cell gives the forward pass; below it,
replace `raise NotImplementedError` with backward lines: start from `df = 1.0` (the output's
gradient with respect to itself), then one line per gate, *local gradient × upstream gradient*.
Running the cell grades your function at the example point and two random ones, with derive's
exercise checker (`derive.exercises.check`): it prints your score, the first wrong line and the
mistake it recognises. An untouched cell says "not attempted".
""")

code(r"""
from derive.exercises import check as check_exercise
""")

graded(r"""
def backward(x, y):
    # forward pass (given): one multiply gate
    f = x * y
    # backward pass: df, then dx and dy
    # BEGIN SOLUTION
    df = 1.0
    dx = y * df
    dy = x * df
    # END SOLUTION
    return dx, dy


check_exercise("exercises/mul_gate", backward)
""")

graded(r"""
def backward(x, y):
    # forward pass (given): a max gate, then an add gate; x is used twice
    m = max(x, y)
    f = m + x
    # backward pass: df, dm and dx from the add gate, then the max gate adds to dx and gives dy
    # BEGIN SOLUTION
    df = 1.0
    dm = df
    dx = df
    dx += (1.0 if x > y else 0.0) * dm
    dy = (1.0 if y > x else 0.0) * dm
    # END SOLUTION
    return dx, dy


check_exercise("exercises/max_plus", backward)
""")

graded(r"""
def backward(x, y, z, w):
    # forward pass (given): the circuit 2 (x y + max(z, w)) from above
    xy = x * y
    maxzw = max(z, w)
    s = xy + maxzw
    f = 2 * s
    # backward pass: df, ds, dxy and dmaxzw, dz and dw, dx and dy
    # BEGIN SOLUTION
    df = 1.0
    ds = 2 * df
    dxy = ds
    dmaxzw = ds
    dz = (1.0 if z > w else 0.0) * dmaxzw
    dw = (1.0 if w > z else 0.0) * dmaxzw
    dx = y * dxy
    dy = x * dxy
    # END SOLUTION
    return dx, dy, dz, dw


check_exercise("exercises/circuit", backward)
""")

md(r"""
Exercise 4 is a preview of notebook 4: when a value is used twice, the gradients from both uses
**add up**.

**Next:** [2. The chain rule as staged computation](02-chain-rule.ipynb).
""")
