"""Measurement 4: one training step of the iris network (full batch, 150 flowers, 16 ReLUs).

A step is: gradient of the mean cross-entropy, then ``param -= rate * grad``. derive's step
runs derive's speed path (``derive.stage(iris.NETWORK, wrt=[...]).gradient_function()``), and
for reference the teaching path's compiled program (every value and adjoint) and the user-facing
``prog.run``; it is compared with a hand-written NumPy backward
pass (as in the total-derivative article), HIPS autograd and PyTorch (CPU) where installed.
Every gradient is checked against derive's before it is timed.
"""
from __future__ import annotations

import importlib

import numpy as np

from benchmarks import peers
from benchmarks.report import cell, table as _table
from benchmarks.timing import interleaved

RATE = 0.5
HIDDEN = 16
NAMES = ("W1", "b1", "W2", "b2")
SPEED = "derive (gradient_function, wrt)"


def data(seed=0):
    from derive.teach.iris import load_iris

    X, y = load_iris()
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    rng = np.random.default_rng(seed)
    params = {"W1": rng.normal(0, 0.5, (4, HIDDEN)), "b1": np.zeros(HIDDEN),
              "W2": rng.normal(0, 1 / np.sqrt(HIDDEN), (HIDDEN, 3)), "b2": np.zeros(3)}
    return Z, y, params


def hand_grads(X, W1, b1, W2, b2, y):
    """The backward pass written by hand: softmax - onehot, then back through the ReLU layer."""
    N = X.shape[0]
    pre = X @ W1 + b1
    h = np.maximum(pre, 0)
    scores = h @ W2 + b2
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    dscores = probs
    dscores[np.arange(N), y] -= 1
    dscores /= N
    dh = dscores @ W2.T
    dh[pre <= 0] = 0
    return {"W1": X.T @ dh, "b1": dh.sum(axis=0), "W2": h.T @ dscores, "b2": dscores.sum(axis=0)}


def derive_grads_fn(X, y, params):
    from derive.teach.iris import NETWORK
    from derive.staging.staged import stage

    prog = stage(NETWORK).with_shapes({"X": X.shape, "y": y.shape, **{k: v.shape for k, v in params.items()}})
    fn, fwd, adj = prog.compiled()
    where = [len(fwd) + adj.index(prog.grads[k].name) for k in NAMES]

    def grads(X, W1, b1, W2, b2, y):
        out = fn(X, W1, b1, W2, b2, y)
        return dict(zip(NAMES, (out[i] for i in where)))
    return grads, prog


def speed_grads_fn(X, y, params):
    """derive's speed path: ``stage(NETWORK, wrt=W1, b1, W2, b2).gradient_function()`` (the
    lines after ``derive.staging.optimize``: the fused softmax/cross-entropy keeps its
    probabilities, no ``dX`` for the data); gradients only (``value=True`` would add the loss),
    as the hand-written step computes no loss either."""
    from derive.teach.iris import NETWORK
    from derive.staging.staged import stage

    prog = stage(NETWORK, shapes={"X": X.shape, "y": y.shape, **{k: v.shape for k, v in params.items()}},
                 wrt=list(NAMES))
    fn = prog.gradient_function()  # gradients only, as the hand-written step
    return lambda *a: dict(zip(NAMES, fn(*a)))


def autograd_grads_fn():
    ag = peers.optional("autograd")
    if ag is None:
        return None
    anp = importlib.import_module("autograd.numpy")

    def loss(W1, b1, W2, b2, X, y):
        h = anp.maximum(X @ W1 + b1, 0)
        scores = h @ W2 + b2
        m = anp.max(scores, axis=1, keepdims=True)
        logp = scores - m - anp.log(anp.sum(anp.exp(scores - m), axis=1, keepdims=True))
        return -anp.mean(logp[np.arange(X.shape[0]), y])
    g = ag.grad(loss, (0, 1, 2, 3))
    return lambda X, W1, b1, W2, b2, y: dict(zip(NAMES, g(W1, b1, W2, b2, X, y)))


def torch_grads_fn():
    torch = peers.optional("torch")
    if torch is None:
        return None

    def grads(X, W1, b1, W2, b2, y):
        ps = [torch.from_numpy(p).requires_grad_() for p in (W1, b1, W2, b2)]
        h = torch.relu(torch.from_numpy(X) @ ps[0] + ps[1])
        loss = torch.nn.functional.cross_entropy(h @ ps[2] + ps[3], torch.from_numpy(y))
        loss.backward()
        return {k: p.grad.numpy() for k, p in zip(NAMES, ps)}
    return grads


def step_fn(grads, X, y):
    def step(params):
        g = grads(X, params["W1"], params["b1"], params["W2"], params["b2"], y)
        for k in NAMES:
            params[k] -= RATE * g[k]
    return step


def measure(budget) -> dict:
    try:
        X, y, params = data()
        derive_grads, prog = derive_grads_fn(X, y, params)
    except ImportError as err:
        return {"status": f"skipped: the vector engine is not here ({err})", "timings": {}}
    ref = derive_grads(X, *(params[k] for k in NAMES), y)

    def run_api(X, W1, b1, W2, b2, y):
        return prog.run(X=X, W1=W1, b1=b1, W2=W2, b2=b2, y=y).grad
    peers_ = {SPEED: speed_grads_fn(X, y, params), "derive (compiled, every line)": derive_grads,
              "derive (prog.run)": run_api, "hand-written NumPy": hand_grads,
              "autograd": autograd_grads_fn(), "torch (CPU)": torch_grads_fn()}
    out = {"status": "ok", "timings": {}, "notes": {}, "shape": f"X {X.shape}, hidden {HIDDEN}, 3 classes",
           "forward_lines": len(prog.forward), "backward_lines": len(prog.backward)}
    timed = {}
    for name, fn in peers_.items():
        if fn is None:
            out["notes"][name] = ("skipped: the printed lines changed" if name.startswith("derive")
                                  else f"skipped: {name.split()[0]} is not installed")
            continue
        g = fn(X, *(params[k] for k in NAMES), y)
        if not all(np.allclose(g[k], ref[k], rtol=1e-6, atol=1e-9) for k in NAMES):
            out["notes"][name] = "error: gradient differs from derive's"
            continue
        p = {k: v.copy() for k, v in params.items()}
        timed[name] = (step_fn(fn, X, y), (p,))
    out["timings"] = interleaved(timed, budget)
    return out


def table(vec) -> str:
    title = "(4) one iris training step (gradient + update), median [min-max]"
    if vec.get("status") != "ok":
        return f"{title}\n{vec.get('status')}"
    hand = vec["timings"].get("hand-written NumPy", {}).get("median")
    rows = [[name, cell(s), f"{s['median'] / hand:.2f}" if hand else "-"] for name, s in vec["timings"].items()]
    rows += [[name, note, "-"] for name, note in vec["notes"].items()]
    return _table(f"{title}; {vec['shape']}", ["peer", "time per step", "x hand-written"], rows)
