"""Exercise two_layer: l = 1/2 ||W2 sigmoid(W1 x + b) - y||^2 (discussion sheet 1(d), Phi = sigmoid).

Shapes: W1 (h, d), b (h,), W2 (k, h), x (d,), y (k,). Stage the forward pass with the names
z1 = W1 @ x + b, a = sigmoid(z1), z2 = W2 @ a, r = z2 - y, l = 0.5 * r @ r, then write the
backward pass: dr, dz2, dW2, da, dz1, db, dW1, dx. Return (dW1, db, dW2, dx).
Check in a notebook: derive.exercises.check("two_layer", backward)
"""
import numpy as np


def backward(W1, b, W2, x, y):
    raise NotImplementedError("two_layer")
