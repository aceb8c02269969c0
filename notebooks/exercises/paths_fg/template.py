"""Exercise paths_fg: write the backward pass of paths_fg.

Return (dx), the gradient of paths_fg with respect to each parameter.
"""
def backward(x):
    # forward pass (given)
    f = x**2
    g = 3 * x
    h = f * g
    # backward pass: one line per forward line, in reverse order (+= where a value is used twice)
    raise NotImplementedError("paths_fg")
