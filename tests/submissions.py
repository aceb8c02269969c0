"""Learner submissions the grading tests use: a correct one per exercise, known-wrong ones
(one per misconception label the exercise recognises), and hostile ones."""

CORRECT = {
    "sigmoid_neuron": '''import math

def backward(w, x):
    dot = w[0]*x[0] + w[1]*x[1] + w[2]
    f = 1.0 / (1 + math.exp(-dot))
    ddot = (1 - f) * f
    dx = [w[0] * ddot, w[1] * ddot]
    dw = [x[0] * ddot, x[1] * ddot, 1.0 * ddot]
    return dw, dx
''',
    "staged_fxy": '''import math

def backward(x, y):
    sigy = 1.0 / (1 + math.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1 + math.exp(-x))
    xpy = x + y
    xpysqr = xpy**2
    den = sigx + xpysqr
    invden = 1.0 / den
    f = num * invden
    dnum = invden
    dinvden = num
    dden = (-1.0 / (den**2)) * dinvden
    dsigx = (1) * dden
    dxpysqr = (1) * dden
    dxpy = (2 * xpy) * dxpysqr
    dx = (1) * dxpy
    dy = (1) * dxpy
    dx += ((1 - sigx) * sigx) * dsigx
    dx += (1) * dnum
    dsigy = (1) * dnum
    dy += ((1 - sigy) * sigy) * dsigy
    return dx, dy
''',
    "total_derivative": '''def backward(x):
    f = x**2
    g = x
    hf = f**2
    hg = g * g
    l = hf + hg
    dhf = 1.0
    dhg = 1.0
    df = 2 * f * dhf
    dg = 2 * g * dhg
    dx = 2 * x * df
    dx += 1.0 * dg
    return dx
''',
    "activations": '''import math

def backward(x):
    s = 1.0 / (1.0 + math.exp(-x))
    t = math.tanh(x)
    return s * (1 - s), 1.0 if x > 0 else 0.0, 1 - t * t, 1.0 if x > 0 else -0.1
''',
    "matmul": '''import numpy as np

def backward(W, X, dD):
    dW = dD.dot(X.T)
    dX = W.T.dot(dD)
    return dW, dX
''',
    "two_layer": '''import numpy as np

def backward(W1, b, W2, x, y):
    z1 = W1 @ x + b
    a = 1.0 / (1.0 + np.exp(-z1))
    z2 = W2 @ a
    r = z2 - y
    l = 0.5 * r @ r
    dr = r
    dz2 = dr
    dW2 = np.outer(dz2, a)
    da = W2.T @ dz2
    dz1 = a * (1 - a) * da
    db = dz1
    dW1 = np.outer(dz1, x)
    dx = W1.T @ dz1
    return dW1, db, dW2, dx
''',
    "two_layer_batch": '''import numpy as np

def backward(X, W1, b1, W2, b2, y):
    N = X.shape[0]
    h = X @ W1 + b1
    a = np.maximum(h, 0)
    scores = a @ W2 + b2
    Y = (np.arange(scores.shape[1]) == y[:, None]) * 1.0
    e = np.exp(scores)
    z = np.sum(e, axis=1, keepdims=True)
    logp = scores - np.log(z)
    loss = -np.sum(Y * logp) / N
    dloss = 1.0
    dlogp = -Y / N * dloss
    dscores = dlogp.copy()
    dlogz = -np.sum(dlogp, axis=1, keepdims=True)
    dz = dlogz / z
    de = dz * np.ones_like(e)
    dscores += e * de
    db2 = np.sum(dscores, axis=0)
    dW2 = a.T @ dscores
    da = dscores @ W2.T
    dh = (h > 0) * da
    db1 = np.sum(dh, axis=0)
    dW1 = X.T @ dh
    dX = dh @ W1.T
    return dW1, db1, dW2, db2, dX
''',
}


def _edit(name, old, new):
    src = CORRECT[name]
    assert old in src, (name, old)
    return src.replace(old, new, 1)


# exercise -> [(expected label, submission)]
WRONG = {
    "sigmoid_neuron": [
        ("sigmoid-local-gradient", _edit("sigmoid_neuron", "ddot = (1 - f) * f", "ddot = f")),
        ("precedence", _edit("sigmoid_neuron", "1.0 / (1 + math.exp(-dot))", "1 / 1 + math.exp(-dot)")),
        ("sign", _edit("sigmoid_neuron", "ddot = (1 - f) * f", "ddot = -(1 - f) * f")),
        ("missing-upstream", _edit("sigmoid_neuron", "dx = [w[0] * ddot, w[1] * ddot]", "dx = [w[0], w[1]]")),
    ],
    "staged_fxy": [
        ("fork-overwrite", _edit("staged_fxy", "dx += (1) * dnum", "dx = (1) * dnum")),
        ("sign", _edit("staged_fxy", "(-1.0 / (den**2))", "(1.0 / (den**2))")),
        ("missing-upstream", _edit("staged_fxy", "dden = (-1.0 / (den**2)) * dinvden", "dden = -1.0 / den**2")),
        ("sigmoid-local-gradient", _edit("staged_fxy", "((1 - sigx) * sigx) * dsigx", "sigx * dsigx")),
    ],
    "total_derivative": [
        ("fork-overwrite", _edit("total_derivative", "dx += 1.0 * dg", "dx = 1.0 * dg")),
        ("missing-upstream", _edit("total_derivative", "dx = 2 * x * df", "dx = 2 * x")),
        ("sign", _edit("total_derivative", "df = 2 * f * dhf", "df = -2 * f * dhf")),
    ],
    "activations": [
        ("sigmoid-local-gradient", _edit("activations", "return s * (1 - s),", "return s,")),
        ("sign", _edit("activations", "else -0.1", "else 0.1")),
    ],
    "matmul": [
        ("transpose", _edit("matmul", "dW = dD.dot(X.T)", "dW = X.dot(dD.T)")),
    ],
    "two_layer": [
        ("sigmoid-local-gradient", _edit("two_layer", "dz1 = a * (1 - a) * da", "dz1 = a * da")),
        ("missing-upstream", _edit("two_layer", "dz1 = a * (1 - a) * da", "dz1 = a * (1 - a)")),
        ("transpose", _edit("two_layer", "dW2 = np.outer(dz2, a)", "dW2 = np.outer(a, dz2)")),
        ("sign", _edit("two_layer", "dr = r", "dr = -r")),
    ],
    # no known-wrong variants yet (no [grading] variants for the batch network): correct only
    "two_layer_batch": [],
}

# A shape error in a vector exercise: 0 points, but the label says why.
SHAPE_ERROR = _edit("matmul", "dW = dD.dot(X.T)", "dW = dD.dot(X)")

# name -> (submission, words the message must contain); graded for staged_fxy
HOSTILE = {
    "infinite_loop": ("def backward(x, y):\n    while True:\n        pass\n", "time limit"),
    "crash": ("import os\n\ndef backward(x, y):\n    os.abort()\n", "crashed"),
    "sys_exit": ("import sys\nsys.exit(0)\n", "sys.exit"),
    "os_exit": ("import os\n\ndef backward(x, y):\n    os._exit(0)\n", "ended the process"),
    "fake_print": ("def backward(x, y):\n    print('{\"score\": 3, \"max_score\": 3}')\n"
                   "    print('3/3 - all correct')\n    return 'all', 'correct'\n", "should be"),
    "huge_output": ("def backward(x, y):\n    while True:\n        print('x' * 100000)\n", "output flood"),
    "syntax_error": ("def backward(x, y)\n    return 1, 2\n", "syntax error on line 1"),
    "memory_bomb": ("def backward(x, y):\n    blocks = []\n    while True:\n"
                    "        blocks.append(bytearray(50_000_000))\n", "memory limit"),
    "import_derive": ("from derive.exercises import EXERCISES\n\ndef backward(x, y):\n    return 0, 0\n",
                      "importing derive is not allowed"),
    "import_sympy": ("def backward(x, y):\n    import sympy\n    return 0, 0\n", "importing sympy is not allowed"),
    "subprocess": ("import subprocess\n\ndef backward(x, y):\n    subprocess.run(['true'])\n",
                   "not allowed"),
    "socket": ("import socket\n\ndef backward(x, y):\n    socket.create_connection(('example.com', 80))\n",
               "not allowed"),
    "write_outside": ("def backward(x, y):\n    open('/tmp/derive-pwned.txt', 'w').write('x')\n",
                      "not allowed"),
    "forge_channel": ("import os\nfor fd in range(3, 30):\n    try:\n"
                      "        os.write(fd, b'{\"calls\": [], \"error\": null}')\n"
                      "    except OSError:\n        pass\n\ndef backward(x, y):\n    return 0, 0\n",
                      "tampered"),
    "not_implemented": ("def backward(x, y):\n    raise NotImplementedError('staged_fxy')\n",
                        "not attempted"),
}
