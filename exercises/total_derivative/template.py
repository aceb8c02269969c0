"""Exercise total_derivative: l(x) = h(f(x), g(x)) with f(x) = x**2, g(x) = x, h(a, b) = a**2 + b**2.

The forward pass is given, staged. Write the backward pass: dhf, dhg, df, dg, and dx, which
collects gradient from both paths (the total derivative: x reaches l through f and through g).
Return dx (a number). The answer is l'(x) = 4 x**3 + 2 x.
Check in a notebook: derive.exercises.check("total_derivative", backward)
"""


def backward(x):
    # forward pass (given)
    f = x**2
    g = x
    hf = f**2
    hg = g * g
    l = hf + hg
    # backward pass
    raise NotImplementedError("total_derivative")
