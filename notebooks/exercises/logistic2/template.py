"""Exercise logistic2: write the backward pass of logistic2.

Return (dx), the gradient of logistic2 with respect to each parameter.
"""
def backward(x):
    # forward pass (given)
    o1 = 1 - x
    p1 = x * o1
    l1 = 4 * p1
    o2 = 1 - l1
    p2 = l1 * o2
    l2 = 4 * p2
    # backward pass: one line per forward line, in reverse order (+= where a value is used twice)
    raise NotImplementedError("logistic2")
