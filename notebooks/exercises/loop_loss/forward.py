import numpy as np


def loop_loss(w, b, X, y):
    loss = 0.0
    for i in range(4):
        r = X[i] @ w + b - y[i]
        loss += r * r
    return loss
