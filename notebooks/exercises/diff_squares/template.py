"""Exercise diff_squares: write the backward pass of diff_squares.

Return (dx, dy), the gradient of diff_squares with respect to each parameter.
"""
def backward(x, y):
    # forward pass (given)
    s = x + y
    d = x - y
    g = s * d
    # backward pass: one line per forward line, in reverse order (+= where a value is used twice)
    raise NotImplementedError("diff_squares")
