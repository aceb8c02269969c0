md(r"""
# 11. Build the engine

*The derive course, notebook 11.* Ten notebooks long, derive wrote every backward pass for you, and in the graded cells you
wrote them yourself, one function at a time. Here you write the thing that writes them: a
**reverse-mode sweep**, the whole of backpropagation in about ten lines. It is micrograd's lesson,
in the staged form of CS231n: instead of a graph of objects, your sweep walks derive's staged lines.

The plan:

1. derive stages a function into forward lines, `name = one gate applied to names`;
2. you evaluate the forward lines in order (the values: CS231n's green numbers);
3. you walk the lines **in reverse**, and for every input `v` of the line `t = gate(...)` add
   `local * upstream` to `dv`: `d<v> += (∂t/∂v) * d<t>` (the gradients: the red numbers);
4. you compare with derive's generated backward pass.
""")

code(r"""
import sympy as sp

from derive import stage
from derive.exercises import check as check_exercise
""")

md(r"""
## What a staged line holds

A staged program's `forward` is a list of lines. Each line has a `target` (a SymPy symbol: its name
is `line.target.name`) and a right-hand side `rhs`, a SymPy expression of **one gate** applied to
names and constants. Because `rhs` is a SymPy expression, the local gradient of the gate with respect
to one of its inputs is `sp.diff(line.rhs, v)`: the table of derivative rules is SymPy's.
""")

code(r"""
fxy = stage("(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)")
for line in fxy.forward:
    inputs = sorted(v.name for v in line.rhs.free_symbols)
    print(f"{line.target.name:7s} = {str(line.rhs):16s} inputs {inputs}, "
          f"local gradients {[str(sp.diff(line.rhs, v)) for v in sorted(line.rhs.free_symbols, key=str)]}")
print("output:", fxy.output.name)
""", check=True)

md(r"""
To evaluate an expression at numbers, substitute the values of its names (a dict from names to
floats) and ask SymPy for a float:
""")

code(r"""
def at(expr, values):
    # the value of a SymPy expression, given the values of its names
    return float(expr.evalf(subs={v: values[v.name] for v in expr.free_symbols}))


print(at(fxy.forward[0].rhs, {"y": -4.0}))  # sigmoid(-4)
""", check=True)

md(r"""
## Your turn: the forward pass

Write `forward(prog, point)`: start from the inputs (`point`, a dict such as `{"x": 3.0, "y": -4.0}`)
and evaluate every forward line **in order**, storing each value under its target's name; return the
dict of all values. A backward pass needs these values (every local gradient of the notes' function
uses one), so the check runs **derive's** backward lines (`fxy.backward`, each with a SymPy `expr`,
`+=` where `accumulate` is true) on **your** forward values: wrong values, wrong gradient. Every
graded cell below uses your `forward`, so until you write it they say "not attempted" too.
""")

graded(r"""
def forward(prog, point):
    values = {name: float(v) for name, v in point.items()}
    # BEGIN SOLUTION
    for line in prog.forward:
        values[line.target.name] = at(line.rhs, values)
    # END SOLUTION
    return values


def backward(x, y):
    values = forward(fxy, {"x": x, "y": y})
    for bl in fxy.backward:  # derive's backward lines, evaluated at your forward values
        value = at(bl.expr, values)
        values[bl.target.name] = values[bl.target.name] + value if bl.accumulate else value
    dx, dy = values["dx"], values["dy"]
    return dx, dy


check_exercise("exercises/fxy_gradient", backward)
""")

md(r"""
## Your turn: the reverse sweep

Now the engine. Write `sweep(prog, values)`: the gradient of the output with respect to itself is 1;
then walk `prog.forward` **in reverse**; for each line take its upstream gradient (the gradient
accumulated so far for its target, 0 if nothing reached it), and for every input `v` of the line add
`local * upstream` to the gradient of `v`, with `local = at(sp.diff(line.rhs, v), values)`. Return
the dict of gradients by name. The `+=` is the whole secret of forks: a value used twice receives two
contributions. The check runs your sweep on the notes' $f(x, y)$ at three points.
""")

graded(r"""
def sweep(prog, values):
    grads = {prog.output.name: 1.0}
    # BEGIN SOLUTION
    for line in reversed(prog.forward):
        upstream = grads.get(line.target.name, 0.0)
        for v in line.rhs.free_symbols:
            local = at(sp.diff(line.rhs, v), values)
            grads[v.name] = grads.get(v.name, 0.0) + local * upstream
    # END SOLUTION
    return grads


def backward(x, y):
    grads = sweep(fxy, forward(fxy, {"x": x, "y": y}))
    dx, dy = grads["x"], grads["y"]
    return dx, dy


check_exercise("exercises/fxy_gradient", backward)
""")

md(r"""
## Your turn: any program

Your engine knows nothing about sigmoids or fractions: SymPy gives the local gradients. So it runs on
any staged program. Stage the CS231n neuron with **primitive gates** (negate, exp, add 1, $1/x$:
notebook 3) and return its gradient from your sweep. The exercise passes `w` and `x` as lists; the
staged function below takes their entries as five numbers `w0, w1, w2, x0, x1`.
""")

graded(r"""
neuron = stage('''
import math
def neuron(w0, w1, w2, x0, x1):
    dot = w0*x0 + w1*x1 + w2
    f = 1.0 / (1 + math.exp(-dot))
    return f
''', gates="primitive")


def backward(w, x):
    point = {"w0": w[0], "w1": w[1], "w2": w[2], "x0": x[0], "x1": x[1]}
    # BEGIN SOLUTION
    grads = sweep(neuron, forward(neuron, point))
    dw = [grads["w0"], grads["w1"], grads["w2"]]
    dx = [grads["x0"], grads["x1"]]
    # END SOLUTION
    return dw, dx


check_exercise("exercises/neuron_gradient", backward)
""")

md(r"""
## Compare with derive's generated backward pass

derive's backward pass is your sweep, **unrolled**: instead of looping over the lines at run time,
derive loops once at staging time and writes each `local * upstream` as a line of code, `=` for the
first contribution and `+=` for the next ones. Put the two side by side: each backward line is one
iteration of your inner loop, and its value is the gradient your `grads` dict held at that moment.
""")

code(r"""
run = fxy.run(x=3, y=-4)
print(fxy.to_text())
try:
    mine = sweep(fxy, forward(fxy, {"x": 3.0, "y": -4.0}))
    print("\nyour sweep:    ", {k: mine[k] for k in ("x", "y")})
except NotImplementedError:
    print("\nyour sweep:     write forward and sweep above first")
print("derive's lines:", run.grad)
""")

md(r"""
What derive adds to your ten lines is what makes them a tool: names a learner can read (`dxpy`, not
`grads["xpy"]`), comments pointing at the forward line, the generated code compiled once so that
a 4,000-line program runs in a millisecond, shapes for arrays (notebooks 7 and 8), and the checks
against `sympy.diff` and central differences that you used in every notebook.

## Exercises

1. Your sweep computes `sp.diff` at run time, on every call. derive does it once. How many calls of
   `sp.diff` does your sweep make for the notes' $f(x, y)$? (Count the inputs of every line.)
2. What happens in your sweep if a line's target is never used by a later line (dead code)? What
   does derive's generated pass do?
3. Change `sweep` to *record* the lines it would write (`f"d{v} += ({local_expr}) * d{t}"`) instead
   of computing numbers: you have written a tiny code generator. Compare its output with
   `fxy.backward`.
4. Why must the forward values be computed before the sweep starts, and in which order would a
   sweep over a loop (notebook 10) need them?

This is the end of the course. To go further: stage your own functions with `derive stage`, compare
them with the symbolic derivative, and check every gradient you write by hand.
""")
