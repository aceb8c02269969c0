"""Exercise sub_chain: write the backward pass of sub_chain.

Return (dx, dy, dz), the gradient of sub_chain with respect to each parameter.
"""
def backward(x, y, z):
    # forward pass (given)
    q = x - y
    f = q * z
    # backward pass: one line per forward line, in reverse order (+= where a value is used twice)
    raise NotImplementedError("sub_chain")
