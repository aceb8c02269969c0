import numpy as np


def two_layer_batch(X, W1, b1, W2, b2, y):
    h = X @ W1 + b1
    a = np.maximum(h, 0)
    scores = a @ W2 + b2
    Y = onehot(y, scores.shape[1])
    e = np.exp(scores)
    z = np.sum(e, axis=1, keepdims=True)
    logp = scores - np.log(z)
    loss = -np.sum(Y * logp) / X.shape[0]
    return loss
