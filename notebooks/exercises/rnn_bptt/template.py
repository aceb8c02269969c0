"""Exercise rnn_bptt: write the backward pass of rnn_bptt (CS231n's rnn_backward).

Return (dx, dh0, dWx, dWh, db), the gradient of rnn_bptt with respect to each parameter.
"""
import numpy as np


def backward(x, h0, Wx, Wh, b, dh):
    # forward pass (given); keep the hidden states for the backward loop
    N, T, D = x.shape
    prev_h = h0
    loss = 0.0
    for t in range(T):
        next_h = np.tanh(x[:, t, :] @ Wx + prev_h @ Wh + b)
        loss += np.sum(next_h * dh[:, t, :])
        prev_h = next_h
    # backward pass: for t in reversed(range(T)), carrying the hidden state's gradient
    raise NotImplementedError("rnn_bptt")
