"""The iris network: one ReLU hidden layer, softmax/cross-entropy, trained with derive's gradients.

The data ships with the package (``derive/data/iris.csv``: Fisher 1936 / UCI, 150 flowers).
``train`` stages ``NETWORK`` with ``derive.stage`` and runs plain gradient descent whose
gradients come only from the generated NumPy backward code (``prog.run``); ``plot_losses``
draws the loss curve.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
from derive.staging.staged import stage

SPECIES = ("setosa", "versicolor", "virginica")

#: The network as a learner writes it (staged by derive.stage; never executed as given).
NETWORK = '''\
def iris_loss(X, W1, b1, W2, b2, y):
    N = X.shape[0]
    h = np.maximum(X @ W1 + b1, 0)
    scores = h @ W2 + b2
    loss = softmax_cross_entropy(scores, y)
    return loss / N
'''


def load_iris():
    """(features (150, 4) in cm, labels (150,) as 0 setosa, 1 versicolor, 2 virginica)."""
    text = resources.files("derive").joinpath("data/iris.csv").read_text()
    rows = list(csv.reader(line for line in text.splitlines() if line and not line.startswith("#")))
    body = rows[1:]
    X = np.array([[float(v) for v in r[:4]] for r in body])
    y = np.array([SPECIES.index(r[4]) for r in body])
    return X, y


@dataclass
class Training:
    """What ``train`` returns: the program, final parameters, the loss per step, accuracy."""

    program: object
    params: dict
    losses: list = field(default_factory=list)
    accuracy: float = 0.0
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    def predict(self, X):
        Z = (np.asarray(X, dtype=float) - self.mean) / self.std
        h = np.maximum(Z @ self.params["W1"] + self.params["b1"], 0)
        return np.argmax(h @ self.params["W2"] + self.params["b2"], axis=1)


def train(hidden: int = 16, rate: float = 0.5, steps: int = 300, seed: int = 0,
          gates: str = "grouped") -> Training:
    """Plain full-batch gradient descent on standardised iris features."""

    X, y = load_iris()
    mean, std = X.mean(axis=0), X.std(axis=0)
    Z = (X - mean) / std
    rng = np.random.default_rng(seed)
    params = {"W1": rng.normal(0, 1 / np.sqrt(4), (4, hidden)), "b1": np.zeros(hidden),
              "W2": rng.normal(0, 1 / np.sqrt(hidden), (hidden, 3)), "b2": np.zeros(3)}
    prog = stage(NETWORK, gates=gates)
    losses = []
    for _ in range(steps):
        res = prog.run(X=Z, y=y, **params)
        losses.append(res.value)
        for k in params:
            params[k] = params[k] - rate * res.grad[k]
    out = Training(prog.with_shapes({"X": Z.shape, "y": y.shape, **{k: v.shape for k, v in params.items()}}),
                   params, losses, 0.0, mean, std)
    out.accuracy = float(np.mean(out.predict(X) == y))
    return out


def plot_losses(training: Training, path=None):
    """The loss curve (matplotlib); saved to ``path`` if given. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(range(1, len(training.losses) + 1), training.losses)
    ax.set_xlabel("gradient descent step")
    ax.set_ylabel("cross-entropy (mean over 150 flowers)")
    ax.set_title(f"iris, one ReLU layer: training accuracy {training.accuracy:.1%}")
    ax.set_yscale("log")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig
