"""Exercise circle: write the backward pass of circle.

Return (dt), the gradient of circle with respect to each parameter.
"""
import math


def backward(t):
    # forward pass (given)
    x = math.cos(t)
    y = math.sin(t)
    f = x * y
    # backward pass: one line per forward line, in reverse order (+= where a value is used twice)
    raise NotImplementedError("circle")
