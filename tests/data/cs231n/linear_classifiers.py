"""Losses with their own gradient, in the form of CS231n assignment 1 (see README.md)."""
import numpy as np


def softmax_loss_vectorized(W, X, y, reg):
    """
    Softmax loss function, vectorized version. Returns a tuple of (loss, dW).
    """
    loss = 0.0
    dW = np.zeros_like(W)
    num_train = X.shape[0]
    scores = X.dot(W)
    scores -= np.max(scores, axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(num_train), y])) / num_train
    loss += reg * np.sum(W * W)
    dscores = probs
    dscores[np.arange(num_train), y] -= 1
    dW = X.T.dot(dscores) / num_train + 2 * reg * W
    return loss, dW


def l2_regression_loss(W, X, t, reg):
    """
    Least squares with L2 regularisation, vectorized, returning (loss, dW) like the losses above.
    """
    loss = 0.0
    dW = np.zeros_like(W)
    num_train = X.shape[0]
    scores = X.dot(W)
    diff = scores - t
    loss = 0.5 * np.sum(diff * diff) / num_train
    loss += reg * np.sum(W * W)
    dW = X.T.dot(diff) / num_train + 2 * reg * W
    return loss, dW
