"""Scalar wrappers around the corpus layers (np.sum(out * G)), for gradient checks.

The layers themselves are read from layers.py, layer_utils.py and rnn_layers.py, unchanged.
"""
from .layers import *
from .layer_utils import *
from .rnn_layers import *


def check_affine(x, w, b, G):
    out, cache = affine_forward(x, w, b)
    return np.sum(out * G)


def check_relu(x, G):
    out, cache = relu_forward(x)
    return np.sum(out * G)


def check_affine_relu(x, w, b, G):
    out, cache = affine_relu_forward(x, w, b)
    return np.sum(out * G)


def check_batchnorm(x, gamma, beta, G, bn_param):
    out, cache = batchnorm_forward(x, gamma, beta, bn_param)
    return np.sum(out * G)


def check_batchnorm_staged(x, gamma, beta, G, bn_param):
    out, cache = batchnorm_forward_staged(x, gamma, beta, bn_param)
    return np.sum(out * G)


def check_layernorm(x, gamma, beta, G, ln_param):
    out, cache = layernorm_forward(x, gamma, beta, ln_param)
    return np.sum(out * G)


def check_rnn_step(x, prev_h, Wx, Wh, b, G):
    next_h, cache = rnn_step_forward(x, prev_h, Wx, Wh, b)
    return np.sum(next_h * G)


def check_lstm_step(x, prev_h, prev_c, Wx, Wh, b, G):
    next_h, next_c, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    return np.sum(next_h * G)


def check_word_embedding(x, W, G):
    out, cache = word_embedding_forward(x, W)
    return np.sum(out * G)


def check_svm(x, y):
    loss, dx = svm_loss(x, y)
    return loss


def check_softmax(x, y):
    loss, dx = softmax_loss(x, y)
    return loss
