"""Exercise square_chain: write the backward pass of square_chain.

Return (dx, dy, dz), the gradient of square_chain with respect to each parameter.
"""
def backward(x, y, z):
    # forward pass (given)
    q = x * y
    s = q + z
    f = s**2
    # backward pass: one line per forward line, in reverse order (+= where a value is used twice)
    raise NotImplementedError("square_chain")
