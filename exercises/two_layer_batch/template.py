"""Exercise two_layer_batch: CS231n's two-layer net on a batch of N examples.

X (N, D) holds one example per row, y (N,) their class labels 0..C-1. The forward pass:
h = X @ W1 + b1, a = relu(h), scores = a @ W2 + b2, then the mean softmax cross-entropy
loss = -(1/N) sum_i log softmax(scores_i)[y_i], staged as Y (one-hot rows), e, z, logp, loss.
Write the backward pass: dlogp, dscores (it comes out as (p - Y) / N), db2, dW2, da, dh, db1,
dW1, dX. Return (dW1, db1, dW2, db2, dX).
Check in a notebook: derive.exercises.check("two_layer_batch", backward)
"""
import numpy as np


def backward(X, W1, b1, W2, b2, y):
    # forward pass (given)
    X, W1, b1, W2, b2, y = (np.asarray(v) for v in (X, W1, b1, W2, b2, y))
    N = X.shape[0]
    h = X @ W1 + b1
    a = np.maximum(h, 0)
    scores = a @ W2 + b2
    Y = (np.arange(scores.shape[1]) == y[:, None]) * 1.0  # one-hot rows: Y[i, y[i]] = 1
    e = np.exp(scores)
    z = np.sum(e, axis=1, keepdims=True)
    logp = scores - np.log(z)
    loss = -np.sum(Y * logp) / N
    # backward pass: dloss = 1.0, dlogp, dscores, db2, dW2, da, dh, db1, dW1, dX
    raise NotImplementedError("two_layer_batch")
