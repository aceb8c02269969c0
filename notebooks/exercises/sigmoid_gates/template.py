"""Exercise sigmoid_gates: write the backward pass of sigmoid_gates.

Return (dx), the gradient of sigmoid_gates with respect to each parameter.
"""
import math


def backward(x):
    # forward pass (given)
    neg = -x
    e = math.exp(neg)
    den = 1 + e
    f = 1 / den
    # backward pass: one line per forward line, in reverse order (+= where a value is used twice)
    raise NotImplementedError("sigmoid_gates")
