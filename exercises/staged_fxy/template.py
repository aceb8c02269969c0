"""Exercise staged_fxy: the staged backward pass of f(x, y) from the CS231n notes.

f(x, y) = (x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)

The forward pass is given with the notes' names. Write the backward pass line by line in
reverse order: dnum, dinvden, dden, dsigx, dxpysqr, dxpy, dx, dy, dsigy (use += where a
variable is used more than once). Return (dx, dy).
Check in a notebook: derive.exercises.check("staged_fxy", backward)
"""
import math


def backward(x, y):
    # forward pass (given)
    sigy = 1.0 / (1 + math.exp(-y))  # (1)
    num = x + sigy  # (2)
    sigx = 1.0 / (1 + math.exp(-x))  # (3)
    xpy = x + y  # (4)
    xpysqr = xpy**2  # (5)
    den = sigx + xpysqr  # (6)
    invden = 1.0 / den  # (7)
    f = num * invden  # (8)
    # backward pass: dnum, dinvden (8), dden (7), dsigx, dxpysqr (6), dxpy (5), dx, dy (4), ...
    raise NotImplementedError("staged_fxy")
