"""Exercise chain_xyz: write the backward pass of chain_xyz.

Return (dx, dy, dz), the gradient of chain_xyz with respect to each parameter.
"""
def backward(x, y, z):
    # forward pass (given)
    q = x + y
    f = q * z
    # backward pass: one line per forward line, in reverse order (+= where a value is used twice)
    raise NotImplementedError("chain_xyz")
