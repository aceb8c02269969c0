"""Exercise fork_xy: write the backward pass of fork_xy.

Return (dx, dy), the gradient of fork_xy with respect to each parameter.
"""
def backward(x, y):
    # forward pass (given)
    a = x * y
    b = a + x
    f = b * y
    # backward pass: one line per forward line, in reverse order (+= where a value is used twice)
    raise NotImplementedError("fork_xy")
