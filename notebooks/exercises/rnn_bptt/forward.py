import numpy as np


def rnn_bptt(x, h0, Wx, Wh, b, dh):
    N, T, D = x.shape
    prev_h = h0
    loss = 0.0
    for t in range(T):
        next_h = np.tanh(x[:, t, :] @ Wx + prev_h @ Wh + b)
        loss += np.sum(next_h * dh[:, t, :])
        prev_h = next_h
    return loss
