import numpy as np


def two_layer(W1, b, W2, x, y):
    z1 = W1 @ x + b
    a = sigmoid(z1)
    z2 = W2 @ a
    r = z2 - y
    return 0.5 * np.sum(r ** 2)
