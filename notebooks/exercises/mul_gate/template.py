"""Exercise mul_gate: write the backward pass of mul_gate.

Return (dx, dy), the gradient of mul_gate with respect to each parameter.
"""
def backward(x, y):
    # forward pass (given)
    f = x * y
    # backward pass: one line per forward line, in reverse order (+= where a value is used twice)
    raise NotImplementedError("mul_gate")
