import numpy as np
from derive import onehot


def softmax_ce(scores, y):
    Y = onehot(y, scores.shape[1])
    e = np.exp(scores)
    z = np.sum(e, axis=1, keepdims=True)
    logp = scores - np.log(z)
    loss = -np.sum(Y * logp) / scores.shape[0]
    return loss
