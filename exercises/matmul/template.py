"""Exercise matmul: backprop through a matrix product D = W @ X (NumPy).

W has shape (n, k), X has shape (k, m); dD (shape (n, m)) is the gradient on D from above.
Return (dW, dX), with the shapes of W and X. Tip from the notes: use dimension analysis.
Check in a notebook: derive.exercises.check("matmul", backward)
"""
import numpy as np


def backward(W, X, dD):
    raise NotImplementedError("matmul")
