import math


def sigmoid_gates(x):
    neg = -x
    e = math.exp(neg)
    den = 1 + e
    f = 1 / den
    return f
