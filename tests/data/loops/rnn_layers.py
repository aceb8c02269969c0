"""A vanilla RNN over a sequence in the form of CS231n assignment 3 (cs231n/rnn_layers.py):
``rnn_step_forward`` (tests/data/cs231n/rnn_layers.py) called in a loop over time, and the
published-style ``rnn_backward`` that loops backwards over time adding each step's weight
gradients (see README.md). ``source()`` is the text derive stages: the step functions' file and
this one (derive reads helpers from the text it is given, never by importing)."""
import os

import numpy as np

from tests.data.cs231n.rnn_layers import rnn_step_backward, rnn_step_forward


def rnn_forward(x, h0, Wx, Wh, b):
    """
    Run a vanilla RNN forward on an entire sequence of data: x has shape (N, T, D), the
    hidden states h have shape (N, T, H).
    """
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    cache = []
    prev_h = h0
    for t in range(T):
        next_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = next_h
        cache.append(step_cache)
        prev_h = next_h
    return h, cache


def rnn_backward(dh, cache):
    """
    Compute the backward pass for a vanilla RNN over an entire sequence of data.
    """
    N, T, H = dh.shape
    x, prev_h, Wx, Wh, next_h = cache[0]
    D = x.shape[1]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, H))
    dWh = np.zeros((H, H))
    db = np.zeros(H)
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t, :], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db


def rnn_loss(x, h0, Wx, Wh, b, dh):
    """The scalar whose gradient is rnn_backward's: the hidden states weighted by an upstream dh,
    summed over time (the RNN's forward loop as written, one step function call per step)."""
    N, T, D = x.shape
    prev_h = h0
    loss = 0.0
    for t in range(T):
        next_h, _ = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        loss += np.sum(next_h * dh[:, t, :])
        prev_h = next_h
    return loss


def source() -> str:
    """The step functions' source followed by this file's (its import line left out)."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "cs231n", "rnn_layers.py"), encoding="utf-8") as fh:
        steps = fh.read()
    with open(os.path.abspath(__file__), encoding="utf-8") as fh:
        own = fh.read().replace("from tests.data.cs231n.rnn_layers import rnn_step_backward, rnn_step_forward\n", "")
    return steps + "\n\n" + own


def rnn_forward_stacked(x, h0, Wx, Wh, b):
    """rnn_forward as many course solutions write it: a list of hidden states, stacked on axis 1."""
    N, T, D = x.shape
    h = []
    prev_h = h0
    for t in range(T):
        next_h, _ = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h.append(next_h)
        prev_h = next_h
    h = np.stack(h, axis=1)
    return h, None


def rnn_forward_list(x, h0, Wx, Wh, b):
    """rnn_forward as the issue quotes it: the list starts with h0, the step reads h[t] (the state
    appended at the step before) and the states after h0 are stacked on axis 1."""
    N, T, D = x.shape
    h = [h0]
    for t in range(T):
        next_h, _ = rnn_step_forward(x[:, t], h[t], Wx, Wh, b)
        h.append(next_h)
    return np.stack(h[1:], axis=1), None


def rnn_states_loss(x, h0, Wx, Wh, b):
    """Several lists filled by one loop (states and per-step losses), read after it in every way
    derive reads them: np.stack with h0 in front, the last state h[-1], np.mean(np.array(losses))
    and sum(losses)."""
    N, T, D = x.shape
    h = [h0]
    losses = []
    for t in range(T):
        next_h, _ = rnn_step_forward(x[:, t, :], h[-1], Wx, Wh, b)
        losses.append(np.sum(next_h ** 2))
        h.append(next_h)
    states = np.stack(h, axis=1)
    return np.sum(states * states[:, :1]) + np.sum(h[-1]) + np.mean(np.array(losses)) + 0.5 * sum(losses)
