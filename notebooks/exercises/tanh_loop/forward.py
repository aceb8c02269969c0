import numpy as np


def tanh_loop(x, w):
    h = x
    for t in range(4):
        h = np.tanh(w * h)
    return h
