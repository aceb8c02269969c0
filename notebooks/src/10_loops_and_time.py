md(r"""
# 10. Loops and time

*The derive course, notebook 10.* "How does backprop handle a loop?" is the question that comes
right after the staged examples. The answer has three parts, and this notebook shows each of them
in derive's generated code:

1. the backward pass of a loop is the **same loop run in reverse**;
2. the values it needs are the ones the forward loop computed, **stored per iteration** (the
   *tape*, made visible);
3. a weight used at every iteration receives **one gradient term per iteration**, and they add:
   `dW += ...` inside the reversed loop. That is the total derivative of notebook 6 again, and for a
   recurrent network it has a name: *backpropagation through time*.

Seeds: CS231n's assignment 3 (`rnn_forward`, `rnn_backward`), the naive loss loops of assignment 1,
and the total-derivative article (section 2.1).
""")

code(r"""
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp

from derive import stage
from derive.exercises import check as check_exercise
""")

md(r"""
## A loop, staged as the loop it is

Four times over, $h \leftarrow \tanh(w\,h)$, starting from $h = x$. derive reads the loop once and
stages its body as one step, so the staged program is as long as the body, whatever the trip count:
""")

code(r"""
source = open("exercises/tanh_loop/forward.py").read()
print(source)
loop = stage(source)
print(loop)
""", check=True)

md(r"""
Read the two passes side by side:

- The forward loop stores what the backward loop will read: `hs[t] = h_1` puts the value *entering*
  step `t` on a tape (a list with one slot per iteration), and `h_1 = h_2` carries the state to the
  next step.
- The backward loop runs `for t in reversed(range(4))`, restores the step's values from the tape,
  and carries the state's gradient to the step *before* (`dh_2 = dh_1`).
- `w` is used at every step, so `dw` starts at zero before the loop and every step adds its term:
  `dw += h_1 * dwh_1`.

Run it: the result holds the tapes, one value per iteration.
""")

code(r"""
r = loop.run(x=0.5, w=1.5)
print("value", r.value)
print("gradient", {k: float(v) for k, v in r.grad.items()})
print("tape hs (h entering each step):", np.round(np.asarray(r.values["hs"], dtype=float), 6))
""", check=True)

md(r"""
Two independent checks: `sympy.diff` of the same four steps written as one expression, and central
differences of the plain Python loop.
""")

code(r"""
x, w = sp.symbols("x w")
h = x
for t in range(4):
    h = sp.tanh(w * h)
exact = {"x": float(sp.diff(h, x).subs({x: 0.5, w: 1.5})), "w": float(sp.diff(h, w).subs({x: 0.5, w: 1.5}))}


def plain(x, w):
    h = x
    for t in range(4):
        h = np.tanh(w * h)
    return h


eps = 1e-6
central = {"x": (plain(0.5 + eps, 1.5) - plain(0.5 - eps, 1.5)) / (2 * eps),
           "w": (plain(0.5, 1.5 + eps) - plain(0.5, 1.5 - eps)) / (2 * eps)}
for k in ("x", "w"):
    print(f"d/d{k}: staged {float(r.grad[k]):.12f}  sympy.diff {exact[k]:.12f}  central {central[k]:.12f}")
    assert abs(float(r.grad[k]) - exact[k]) < 1e-12 and abs(float(r.grad[k]) - central[k]) < 1e-7
""", check=True)

md(r"""
## The same program, unrolled

`stage(..., unroll=True)` (`derive stage --unroll` on the command line) reads the body once per
iteration instead. The program is straight-line again, every value has its own name, and you can
see the four `dw +=` lines that the rolled loop writes once: the gradient of `w` is a **sum over the
steps**, one term per use.
""")

code(r"""
unrolled = stage(source, unroll=True)
print(unrolled.backward_code())
ru = unrolled.run(x=0.5, w=1.5)
print("same gradient:", all(abs(float(ru.grad[k]) - float(r.grad[k])) < 1e-12 for k in ("x", "w")))
""", check=True)

md(r"""
**Predict, then run:** with `range(100)` instead of `range(4)`, how many backward lines does the
rolled program have, and how many the unrolled one?
""")

code(r"""
long_source = source.replace("range(4)", "range(100)")
rolled_back = str(stage(long_source)).split("\nbackward pass\n")[1].strip().splitlines()
print("rolled:", len(rolled_back), "lines in the backward listing (the loop, its tape reads, its body)")
print("unrolled:", len(stage(long_source, unroll=True).backward), "backward lines")
""", check=True, reveal=True)

md(r"""
Unrolling costs one copy of the body per iteration; the rolled loop costs one copy in all. For 4
steps either is fine. For a sequence of 1,000 time steps, the rolled program is what you want
(derive's `benchmarks/loops.py` measures both).

### Your turn: the backward loop of `tanh_loop`

Write `backward(x, w)`: run the forward loop, **storing** the value that enters each step in a
list; then walk the steps in reverse, and for each one compute the gradient through the `tanh`,
add the step's term to `dw`, and carry the gradient to the step before. Return `(dx, dw)`.
""")

graded(r"""
def backward(x, w):
    # BEGIN SOLUTION
    hs = []
    h = x
    for t in range(4):
        hs.append(h)          # the tape: the value entering step t
        h = np.tanh(w * h)
    dh, dw = 1.0, 0.0         # the seed: dh/dh = 1
    for t in reversed(range(4)):
        out = np.tanh(w * hs[t])
        da = (1 - out**2) * dh
        dw += hs[t] * da      # w is used at every step: its terms add
        dh = w * da           # carried to the step before
    dx = dh
    # END SOLUTION
    return dx, dw


check_exercise("exercises/tanh_loop", backward)
""")

md(r"""
## Accumulating inside a loop: a naive loss

CS231n's first assignment computes its losses with loops over the examples (`svm_loss_naive`,
`softmax_loss_naive`): `loss += ...` once per example, and the same weights in every term. Here is
the smallest loss of that kind, a squared error summed over four examples:
""")

code(r"""
source = open("exercises/loop_loss/forward.py").read()
print(source)
naive = stage(source, shapes={"w": (3,), "b": (), "X": (4, 3), "y": (4,)})
print(naive)
""", check=True)

md(r"""
The reversed loop adds each example's term into `dw` and `db`: the gradient of a sum is the sum of
the gradients. The example's row `X[i]` is read with the loop counter, so its gradient is written
back into row `i` of `dX`.

### Your turn: the gradient of the naive loss

Write `backward(w, b, X, y)` returning `(dw, db)`, with a loop over the four examples.
""")

graded(r"""
def backward(w, b, X, y):
    # BEGIN SOLUTION
    dw, db = np.zeros_like(w), 0.0
    for i in range(4):
        r = X[i] @ w + b - y[i]
        dr = 2 * r              # d(r*r)/dr, times the upstream 1 of loss +=
        dw += X[i] * dr
        db += dr
    # END SOLUTION
    return dw, db


check_exercise("exercises/loop_loss", backward)
""")

md(r"""
## A recurrent network: backpropagation through time

A vanilla RNN runs one step function over time: $h_t = \tanh(x_t W_x + h_{t-1} W_h + b)$, with
`x` of shape (N, T, D) and hidden states of shape (N, H). CS231n's `rnn_backward` receives the
upstream gradient `dh` of every hidden state; the loss below, $\sum_t \sum h_t \odot dh_t$, has
exactly that gradient, so its gradient is what `rnn_backward(dh, cache)` returns.
""")

code(r"""
source = open("exercises/rnn_bptt/forward.py").read()
print(source)
shapes = {"x": (2, 5, 3), "h0": (2, 4), "Wx": (3, 4), "Wh": (4, 4), "b": (4,), "dh": (2, 5, 4)}
rnn = stage(source, shapes=shapes)
print(rnn)
""", check=True)

md(r"""
Everything from the small loop is here at full size: the tapes (`prev_hs`, `next_hs`, `xis`),
the reversed loop, `dWh += prev_h.T @ dprev_hWh` and `dWx += xi.T @ dxiWx` (one term per time step)
and the hidden state's gradient carried backwards (`dnext_h = dprev_h`). Compare with CS231n's
hand-written backward pass, step function by step function:
""")

code(r"""
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = (1 - next_h**2) * dnext_h
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    h, cache, prev_h = np.zeros((N, T, h0.shape[1])), [], h0
    for t in range(T):
        prev_h, c = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = prev_h
        cache.append(c)
    return h, cache


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    x, _, Wx, Wh, _ = cache[0]
    dx, dWx, dWh, db = np.zeros((N, T, x.shape[1])), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t, :], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


rng = np.random.default_rng(0)
values = {k: rng.normal(scale=0.5, size=s) for k, s in shapes.items()}
res = rnn.run(**values)
_, cache = rnn_forward(values["x"], values["h0"], values["Wx"], values["Wh"], values["b"])
published = dict(zip(["x", "h0", "Wx", "Wh", "b"], rnn_backward(values["dh"], cache)))
for k, g in published.items():
    print(f"d{k:3s} largest difference from rnn_backward: {np.max(np.abs(res.grad[k] - g)):.1e}")
    assert np.allclose(res.grad[k], g, rtol=1e-10, atol=1e-12)
""", check=True)

md(r"""
## The weight gradient is a sum over time steps

Unrolled, the program shows one `dWh` line per time step (`=` for the first one written, the last
step, then `+=`). Evaluate each line's right-hand side with the run's values: those are the terms
of the sum, and added they are `dWh`:
""")

code(r"""
unrolled = stage(source, shapes=shapes, unroll=True)
ru = unrolled.run(**values)
lines = [str(bl) for bl in unrolled.backward if bl.target.name == "dWh"]
env = dict(np=np, **values, **ru.values, **ru.adjoints)   # inputs, values and adjoints, by name
terms = [eval(line.split("=", 1)[1], env) for line in lines]   # each line's printed right-hand side
for line, term in zip(lines, terms):
    print(f"{line:28s} term norm {np.linalg.norm(term):.4f}")
print("the terms add up to dWh:", np.allclose(sum(terms), res.grad["Wh"], rtol=1e-12, atol=1e-14))
""", check=True)

md(r"""
## Vanishing and exploding gradients, seen in the per-step adjoints

Going back one step multiplies the hidden state's gradient by $W_h^\top$ and by the `tanh`
derivative $(1 - h_t^2) \le 1$. Over many steps that product shrinks or grows geometrically. Put a
loss on the **last** hidden state only, and read derive's adjoint of every hidden state
(`dprev_h_t<k>` in the unrolled program: the gradient of the loss with respect to the state that
step $k$ computes):
""")

code(r'''
last = """
import numpy as np

def rnn_last(x, h0, Wx, Wh, b, dh):
    N, T, D = x.shape
    prev_h = h0
    for t in range(T):
        prev_h = np.tanh(x[:, t, :] @ Wx + prev_h @ Wh + b)
    return np.sum(prev_h * dh)
"""
T = 20
long_shapes = {"x": (1, T, 3), "h0": (1, 4), "Wx": (3, 4), "Wh": (4, 4), "b": (4,), "dh": (1, 4)}
deep = stage(last, shapes=long_shapes, unroll=True)
rng = np.random.default_rng(1)
base = {k: rng.normal(scale=0.3, size=s) for k, s in long_shapes.items()}
Q, _ = np.linalg.qr(rng.normal(size=(4, 4)))      # an orthogonal matrix: every direction scaled alike
fig, ax = plt.subplots(figsize=(6, 3.2))
norms_by_scale = {}
for scale in (0.5, 0.9, 1.3):
    vals = dict(base, Wh=scale * Q, x=0.01 * base["x"], h0=0.01 * base["h0"], b=0 * base["b"])
    adj = deep.run(**vals).adjoints
    norms = [np.linalg.norm(adj[f"dprev_h_t{k}"]) for k in range(T)]
    norms_by_scale[scale] = norms
    ax.semilogy(range(T), norms, "o-", ms=3, label=f"Wh = {scale} x orthogonal")
ax.set_xlabel("time step k")
ax.set_ylabel("|dL/dh_k|")
ax.legend()
ax.set_title("gradient reaching each hidden state from the last one")
plt.tight_layout()
''')

md(r"""
The same numbers, first state against last:
""")

code(r"""
for scale, norms in norms_by_scale.items():
    print(f"Wh scale {scale}: |dL/dh_0| / |dL/dh_{T - 1}| = {norms[0] / norms[-1]:.2e}")
assert norms_by_scale[0.5][0] / norms_by_scale[0.5][-1] < 1e-4 < 10 < norms_by_scale[1.3][0] / norms_by_scale[1.3][-1]
""", check=True)

md(r"""
The inputs and the first state are small, so the `tanh` stays nearly linear and each step back
multiplies the gradient by about the scale of $W_h$. Scaled by 0.5, the gradient reaching the
first step is about $0.5^{19} pprox 2 \cdot 10^{-6}$ of the last one's: the early inputs get
almost no gradient (**vanishing**). Scaled by 0.9 it still shrinks, about $0.9^{19} pprox 0.14$.
Scaled by 1.3 it grows, by about $1.3^{19}$ damped by the `tanh` (**exploding**). Make $W_h$ larger
still and the states saturate: the factor $1 - h_t^2$ then drops towards zero and the gradient
vanishes again. That is the problem LSTMs and gradient clipping address.

### Your turn: `rnn_backward` by hand

Write `backward(x, h0, Wx, Wh, b, dh)` returning `(dx, dh0, dWx, dWh, db)` for the loss of the
`rnn_bptt` exercise (the hidden states weighted by `dh`). Store the hidden states in the forward
loop; in the reversed loop, add `dh[:, t, :]` to the gradient carried from the step after, go
through the `tanh`, write `dx[:, t, :]`, add the step's terms to `dWx`, `dWh`, `db`, and carry
`da @ Wh.T` to the step before.
""")

graded(r"""
def backward(x, h0, Wx, Wh, b, dh):
    N, T, D = x.shape
    # BEGIN SOLUTION
    hs = [h0]
    for t in range(T):
        hs.append(np.tanh(x[:, t, :] @ Wx + hs[-1] @ Wh + b))
    dx, dWx, dWh, db = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev = np.zeros_like(h0)
    for t in reversed(range(T)):
        da = (1 - hs[t + 1]**2) * (dh[:, t, :] + dprev)
        dx[:, t, :] = da @ Wx.T
        dWx += x[:, t, :].T @ da
        dWh += hs[t].T @ da
        db += da.sum(axis=0)
        dprev = da @ Wh.T
    dh0 = dprev
    # END SOLUTION
    return dx, dh0, dWx, dWh, db


check_exercise("exercises/rnn_bptt", backward)
""")

md(r"""
## Exercises

1. Stage `tanh_loop` with `range(40)` instead of `range(4)`, rolled and unrolled. How many lines
   does each have? (Rolled: the same as for 4. Unrolled: ten times more.)
2. In the naive loss, which backward line would change if the loss were `loss += abs(r)`? Stage it
   and read the kink note at a point where some `r` is zero.
3. In the vanishing-gradient plot, replace the orthogonal matrix by `rng.normal(size=(4, 4))`. Why do
   the curves stop being straight lines on the log scale?
4. Truncated backpropagation through time stops the reversed loop after K steps. Which terms of
   `dWh`'s sum does it drop, and why is that usually harmless when gradients vanish?
""")

md(r"""
**Next:** [11. Build the engine](11-build-the-engine.ipynb).
""")
