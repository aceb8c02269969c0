md(r"""
# 3. The sigmoid neuron

*The derive course, notebook 3.* A single artificial neuron takes inputs $x$, weights $w$, forms
a weighted sum and squashes it with the sigmoid $\sigma(t) = 1/(1 + e^{-t})$:

$$f(w, x) = \sigma(w_0 x_0 + w_1 x_1 + w_2) \qquad\text{at}\qquad w = [2, -3, -3],\ x = [-1, -2].$$

This notebook does three things: backpropagates through the neuron; shows that *how you cut a
function into gates* is your choice (one sigmoid gate, or four elementary gates); and walks through
two mistakes a learner made on a Q&A site, with derive's numbers for what they wrote next to the
correct ones.
""")

code(r"""
import math

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from derive import DeriveError, stage
from derive.oracle.check import numeric_gradient
from derive.staging.evaluate import run_many
from derive.symbolic.examples import NEURON_CODE
from derive.exercises import check as check_exercise, get as get_exercise
from derive.printing.printers import code
""")

md(r"""
## The neuron, staged

This is the CS231n notes' code for the forward pass, as it ships in derive's catalogue:
""")

code(r"""
print(NEURON_CODE)
""")

code(r"""
neuron = stage(NEURON_CODE)
neuron
""", check=True)

md(r"""
Notice line (5): derive recognised the spelled-out `1.0 / (1 + math.exp(-dot))` as **one sigmoid
gate**, `f = sigmoid(dot)`. Its backward line, `ddot = f*(1 - f)`, uses the sigmoid's famous local
gradient,

$$\frac{d\sigma(t)}{dt} = \frac{e^{-t}}{(1 + e^{-t})^2} = \big(1 - \sigma(t)\big)\,\sigma(t),$$

which is cheap because $\sigma(t)$, the gate's own output `f`, is already known from the forward pass.
Then the add gates copy `ddot` to each product, and each multiply gate swaps: `dw[0] = x[0] * dw0x0`.

Run it (`exact=True` rounds every number correctly, so these are the numbers the notes print):
""")

code(r"""
r = neuron.run(w=[2, -3, -3], x=[-1, -2], exact=True)
display(Markdown(neuron.to_markdown(r)))
""", check=True)

code(r"""
print("f  =", r.value)
print("dw =", r.grad["w"])
print("dx =", r.grad["x"])
""", check=True)

md(r"""
The dot product is $2\cdot(-1) + (-3)(-2) - 3 = 1$, the neuron outputs $\sigma(1) \approx 0.73$,
and the sigmoid's local gradient is $(1 - 0.73)\cdot 0.73 \approx 0.197$. Everything below the sigmoid
is that $0.197$ routed through add gates (unchanged) and multiply gates (times the other input).

### How big can the sigmoid's gradient get?

The local gradient $(1-\sigma)\sigma$ is at most $1/4$ (at $t = 0$) and nearly zero once $|t|$ is
larger than about 5: a saturated sigmoid passes almost no gradient back. derive evaluates the
one-gate program $\sigma(t)$ and its backward line on a grid:
""")

code(r"""
sig = stage("sigmoid(t)")
ts = np.linspace(-8, 8, 400)
value, grad = run_many(sig, {"t": ts})
fig, ax = plt.subplots(figsize=(6.5, 3))
ax.plot(ts, value, label="sigmoid(t)")
ax.plot(ts, grad["t"], label="local gradient (1 - sigmoid) sigmoid")
ax.axhline(0.25, color="gray", lw=0.5, ls=":")
ax.set_xlabel("t")
ax.legend()
plt.show()
print("largest local gradient on the grid:", round(float(grad["t"].max()), 6))
""")

md(r"""
## Grouped gate or primitive gates: your choice

CS231n draws the same neuron with the sigmoid cut into four elementary gates: negate, $\exp$, add 1,
and $1/x$. Each has a simple local gradient ($-1$, $e^t$, $1$, $-1/t^2$). derive does this with
`gates="primitive"`:
""")

code(r"""
neuron_primitive = stage(NEURON_CODE, gates="primitive")
neuron_primitive
""", check=True)

code(r"""
rp = neuron_primitive.run(w=[2, -3, -3], x=[-1, -2], exact=True)
display(Markdown(neuron_primitive.to_markdown(rp)))
""", check=True)

md(r"""
This is the circuit CS231n draws for the neuron: forward values in green above each wire, gradients in
red below it (derive draws it from the staged program and its run):
""")

code(r"""
neuron_primitive.circuit(w=[2, -3, -3], x=[-1, -2])
""")

md(r"""
The backward pass now has four lines where the grouped version had one: `dt3 = -1.0/t3**2`
($\approx -0.53$), `dt2 = dt3`, `dnegdot = t2 * dt2` ($\approx -0.197$) and `ddot = -dnegdot`
($\approx 0.197$), the same $0.197$ as the single line `ddot = f*(1 - f)`. The gradient is
identical, only the bookkeeping differs:
""")

code(r"""
print("same gradient:", rp.grad == r.grad)
for name, p in [("grouped", neuron), ("primitive", neuron_primitive)]:
    print(f"{name:9s}: {len(p.forward)} forward lines, {len(p.backward)} backward lines, "
          f"{p.forward_ops} forward ops, {p.backward_ops} backward ops")
""", check=True)

md(r"""
Where to cut is a matter of convenience: group operations whose combined local gradient is simple
(the sigmoid is the classic case), and split where the pieces are simpler than the whole.

## A learner's two mistakes

On a Q&A site a learner studying these notes wrote the neuron like this (their code, verbatim):

```python
w = [2,-3,-3]
x = [-1, -2]

# Compute the forward pass
product = [w[0]*x[0]+w[1]*x[1]+w[2]]
activation = 1 / 1 + math.exp(-product)

grad_product = (1 - activation) * activation

grad_x = [w[0] * activation + w[2] * activation]
grad_w = [x[0] * activation + x[1] * activation + 1 * activation]
```

and asked why `1 * activation` appears in `grad_w`. Let us give their code to derive. First, derive
will not take a list in a forward pass (the square brackets around `product` make it a one-element
list, and Python itself would fail at `-product`):
""")

code(r'''
learner_source = """
import math

def learner(w, x):
    product = [w[0]*x[0]+w[1]*x[1]+w[2]]
    activation = 1 / 1 + math.exp(-product)
    return activation
"""
try:
    stage(learner_source)
except DeriveError as err:
    print("derive:", err)
''', check=True)

md(r"""
### Mistake 1: operator precedence in the sigmoid

Drop the brackets and stage what remains. In Python `1 / 1 + math.exp(-product)` means
$(1/1) + e^{-\text{product}}$, not $1/(1 + e^{-\text{product}})$. derive differentiates **what
was written**, and its staging already shows the problem: there is no sigmoid gate, just an `exp`
and a `1 + ...`.
""")

code(r"""
learner_precedence = stage(learner_source.replace("[w[0]*x[0]+w[1]*x[1]+w[2]]",
                                                  "w[0]*x[0]+w[1]*x[1]+w[2]"))
learner_precedence
""", check=True)

code(r"""
point = dict(w=[2, -3, -3], x=[-1, -2])
wrong = learner_precedence.run(exact=True, **point)


def row(label, first, res):
    fmt = lambda v: "[" + ", ".join(f"{x:.4f}" for x in v) + "]"
    return f"| {label} | {first:.4f} | {fmt(res.grad['w'])} | {fmt(res.grad['x'])} |"


display(Markdown("\n".join([
    "| | value | dw | dx |", "|---|---|---|---|",
    row("learner: `1 / 1 + math.exp(-product)`", wrong.value, wrong),
    row("correct: `1 / (1 + math.exp(-product))`", r.value, r)])))
""", check=True)

md(r"""
The value is the giveaway: $1 + e^{-1} \approx 1.37$, outside the sigmoid's range $(0, 1)$. Every
gradient is wrong too, and even has the wrong sign: the learner's function *decreases* as the dot
product grows. A habit worth keeping: **check a forward value you can predict** before you trust
any gradient.

### Mistake 2: multiplying by the activation instead of its local gradient

The learner computed `grad_product = (1 - activation) * activation` correctly, and then did not use
it: `grad_x` multiplies the weights by `activation`, the sigmoid's *output*, where the chain rule
needs the sigmoid's *local gradient* $(1 - \sigma)\sigma$. derive's backward pass has that step as
its own line:
""")

code(r"""
sigmoid_line = neuron.backward[0]
print(code(sigmoid_line.target), "=", code(sigmoid_line.expr), "  <- the local gradient of f = sigmoid(dot)")
""", check=True)

md(r"""
What numbers does the learner's rule produce? "Gradient of the dot product = $\sigma$" is the
correct derivative of a *different* gate: $\log(1 + e^{t})$, the *softplus*, whose derivative is
exactly $\sigma(t)$. So derive can compute the learner's numbers honestly, as the correct gradient of
a softplus neuron:
""")

code(r'''
softplus_source = """
import math

def softplus_neuron(w, x):
    dot = w[0]*x[0] + w[1]*x[1] + w[2]
    f = math.log(1 + math.exp(dot))
    return f
"""
softplus = stage(softplus_source)
learner_rule = softplus.run(exact=True, **point)
print("ddot in the softplus program:", learner_rule.adjoints["ddot"], "= sigmoid(1), the activation")
display(Markdown("\n".join([
    "| | ddot | dw | dx |", "|---|---|---|---|",
    row("learner: multiply by `activation`", learner_rule.adjoints["ddot"], learner_rule),
    row("correct: multiply by `(1 - activation) * activation`", r.adjoints["ddot"], r)])))
''', check=True)

md(r"""
Every learner number is $1/(1 - \sigma) \approx 3.72$ times too large: multiplying by $\sigma$
instead of $\sigma(1-\sigma)$ drops the factor $(1 - \sigma)$.

A gradient check (notebook 9) catches this without knowing what the mistake is: finite differences
of the *neuron's value* agree with derive's gradient and not with the learner's rule.
""")

code(r"""
numeric = numeric_gradient(NEURON_CODE, point)
for name, grads in [("derive", r.grad), ("learner's rule", learner_rule.grad)]:
    err = max(abs(a - b) for k in ("w", "x") for a, b in zip(grads[k], numeric[k]))
    print(f"{name:15s} largest difference from finite differences: {err:.1e}")
""")

md(r"""
### derive's exercise checker names both mistakes

The neuron is one of derive's auto-graded exercises: you write `backward(w, x)` returning
`(dw, dx)`, and `derive.exercises.check` runs it at the notes' point and two more, compares with
derive's own staged gradient, points at the first wrong value, and recognises known mistakes by
their numbers. Here is the learner's backward pass (their formulas, with the lists fixed so that it
runs), then the same with only the precedence bug:
""")

code(r"""
def learner_backward(w, x):
    product = w[0]*x[0] + w[1]*x[1] + w[2]
    activation = 1 / (1 + math.exp(-product))
    dproduct = activation                      # mistake 2: should be (1 - activation) * activation
    dx = [w[0] * dproduct, w[1] * dproduct]
    dw = [x[0] * dproduct, x[1] * dproduct, 1 * dproduct]
    return dw, dx


learner_grade = check_exercise("sigmoid_neuron", learner_backward)
learner_grade
""")

code(r"""
def precedence_backward(w, x):
    product = w[0]*x[0] + w[1]*x[1] + w[2]
    activation = 1 / 1 + math.exp(-product)    # mistake 1: missing parentheses
    dproduct = (1 - activation) * activation
    dx = [w[0] * dproduct, w[1] * dproduct]
    dw = [x[0] * dproduct, x[1] * dproduct, 1 * dproduct]
    return dw, dx


precedence_grade = check_exercise("sigmoid_neuron", precedence_backward)
precedence_grade
""")

md(r"""
In short (scores out of 3, and the mistakes the checker recognised by their numbers):
""")

code(r"""
for name, grade in [("learner", learner_grade), ("precedence only", precedence_grade)]:
    print(f"{name:15s} score {grade.score:g}/{grade.max_score:g}, misconceptions {grade.misconceptions}")
""", check=True)

md(r"""
### And the learner's question: why `1 * activation` in `grad_w`?

Because $w_2$ is the bias: it enters through an **add gate**, whose local gradient is 1, so its
gradient is just the upstream gradient arriving at the dot product: derive's line `dw[2] = ddot`.
The `1 *` is the add gate's local gradient, written out. (Their `grad_x` and `grad_w` also add the
per-input gradients into one number; they should be lists, one entry per input, like derive's
`dw` and `dx`.)

## Exercises

Predict, then reveal with derive.

1. The sigmoid's local gradient at $t = 0$, and at $t = 4$. How much of an upstream gradient of 1
   survives each?
2. CS231n's other activations (discussion sheet, part 2): the local gradient of $\tanh(t)$ at
   $t = 0.5$, of $\mathrm{relu}(t) = \max(t, 0)$ at $t = -1$ and $t = 2$, and of the sheet's leaky
   ReLU $\max(t, -0.1\,t)$ at $t = -1$. (The sheet's version: slope 1 for $t > 0$ and $-0.1$ for
   $t < 0$. Many libraries use $\max(t, 0.1\,t)$, slope $+0.1$; this course uses the sheet's, the
   same definition as the graded `activations` exercise below: both read it from its file.)
3. The neuron with $w = [1, 1, 0]$, $x = [0.5, -0.5]$: what are the dot product, $f$, $dw$ and $dx$?
4. In the primitive version, why is `dnegdot` negative while `ddot` is positive?

### Your turn: graded cells

Replace each `raise NotImplementedError` with your own lines and run the cell: derive's checker
(`derive.exercises.check`) grades the function at the example point and two random ones, names the
first wrong line and recognises the usual mistakes (the two above among them). Untouched, a cell
says "not attempted".

5. The neuron's backward pass: `ddot`, then `dw` (3 numbers) and `dx` (2 numbers).
6. The four local gradients `(dsigmoid, drelu, dtanh, dleaky)` at a number `x` (never 0), of
   $\sigma$, relu, $\tanh$ and the sheet's leaky ReLU.
7. The sigmoid cut into four primitive gates (negate, exp, add 1, $1/x$): its backward pass, one
   line per gate.
""")

code(r"""
LEAKY = get_exercise("activations").spec.per_output["dleaky"]  # the one definition, from the exercise file
print("leaky ReLU (discussion sheet):", LEAKY)
""", check=True)

graded(r"""
def backward(w, x):
    # forward pass (given)
    dot = w[0]*x[0] + w[1]*x[1] + w[2]
    f = 1.0 / (1 + math.exp(-dot))
    # backward pass: ddot, then dw (3 numbers) and dx (2 numbers)
    # BEGIN SOLUTION
    ddot = (1 - f) * f
    dx = [w[0] * ddot, w[1] * ddot]
    dw = [x[0] * ddot, x[1] * ddot, 1.0 * ddot]
    # END SOLUTION
    return dw, dx


check_exercise("sigmoid_neuron", backward)
""")

graded(r"""
def backward(x):
    # return dsigmoid, drelu, dtanh, dleaky: the four local gradients at x
    # BEGIN SOLUTION
    s = 1 / (1 + math.exp(-x))
    dsigmoid = s * (1 - s)
    drelu = 1.0 if x > 0 else 0.0
    dtanh = 1 - math.tanh(x) ** 2
    dleaky = 1.0 if x > 0 else -0.1
    # END SOLUTION
    return dsigmoid, drelu, dtanh, dleaky


check_exercise("activations", backward)
""")

graded(r"""
def backward(x):
    # forward pass (given): the sigmoid as four primitive gates
    neg = -x
    e = math.exp(neg)
    den = 1 + e
    f = 1 / den
    # backward pass: dden, de, dneg, dx
    # BEGIN SOLUTION
    dden = (-1 / den**2) * 1.0
    de = dden
    dneg = e * de
    dx = -dneg
    # END SOLUTION
    return dx


check_exercise("exercises/sigmoid_gates", backward)
""")

md(r"""
Answers to 1-4, revealed by derive:
""")

code(r"""
for t in [0, 4]:
    print(f"1. sigmoid'({t}) =", sig.run(t=t).grad["t"])
print("2. tanh'(0.5) =", stage("tanh(t)").run(t=0.5).grad["t"],
      "| relu'(-1) =", stage("relu(t)").run(t=-1).grad["t"],
      "| relu'(2) =", stage("relu(t)").run(t=2).grad["t"],
      "| leaky'(-1) =", stage(LEAKY).run(x=-1).grad["x"])
r3 = neuron.run(w=[1, 1, 0], x=[0.5, -0.5])
print("3. dot =", r3.values["dot"], "f =", r3.value, "dw =", r3.grad["w"], "dx =", r3.grad["x"])
""", check=True, reveal=True)

md(r"""
4: the negate gate has local gradient $-1$, so it flips the sign of whatever passes through it.

**Next:** [4. Staged computation](04-staged-computation.ipynb).
""")
