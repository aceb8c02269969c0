"""Exercise product4: write the backward pass of product4.

Return (dx, dy, dz, dw), the gradient of product4 with respect to each parameter.
"""
def backward(x, y, z, w):
    # forward pass (given)
    p1 = x * y
    p2 = p1 * z
    f = p2 * w
    # backward pass: one line per forward line, in reverse order (+= where a value is used twice)
    raise NotImplementedError("product4")
