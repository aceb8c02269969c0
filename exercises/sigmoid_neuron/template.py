"""Exercise sigmoid_neuron: backprop through the 2-D sigmoid neuron of the CS231n notes.

f(w, x) = sigmoid(w[0]*x[0] + w[1]*x[1] + w[2])

Write the forward pass with an intermediate `dot` and the output `f`, then the backward pass:
`ddot` (the gradient on dot), then `dw` (a list of 3) and `dx` (a list of 2).
Return (dw, dx). Check in a notebook: derive.exercises.check("sigmoid_neuron", backward)
"""
import math


def backward(w, x):
    # forward pass
    # dot = ...
    # f = ...
    # backward pass
    # ddot = ...
    # dw = [...]
    # dx = [...]
    raise NotImplementedError("sigmoid_neuron")
