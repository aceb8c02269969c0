"""A catalogue of function families of growing depth, for swell tables, notebooks and benchmarks.

``FAMILIES[name].build(n)`` returns an :class:`Instance`: the function at depth ``n`` as
text ``stage`` accepts (an expression string, or a straight-line Python function when the
expression written out would repeat subexpressions exponentially), with where to sample it.

- ``logistic``: l_1 = x, l_{k+1} = 4 l_k (1 - l_k) (Baydin et al. 2018, Table 1).
- ``nested-sigmoid``: sigmoid(sigmoid(...sigmoid(x))), n times.
- ``mlp``: n layers of ``width`` sigmoid neurons with scalar weights, a linear read-out.
- ``product``: x1*x2*...*xn (the naive gradient is O(n^2), the staged one O(n)).
- ``cs231n``: the CS231n notes' f(x, y) = (x + sigmoid(y)) / (sigmoid(x) + (x + y)**2),
  applied n times: x_k = f(x_{k-1}, y) (n = 1 is the notes' function exactly).
- ``two-layer``: discussion sheet 1(d), 1/2 ||W2 sigmoid(W1 x + b) - y||^2 with d = n.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from derive.core.errors import DeriveError

CS231N = "(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)"


@dataclass(frozen=True)
class Instance:
    """One member of a family: text to stage, and the box random points are drawn from."""

    family: str
    n: int
    text: str
    domain: tuple = (-2.0, 2.0)     # every input is drawn uniformly from this interval
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    builder: object          # (n, **options) -> text
    domain: tuple = (-2.0, 2.0)
    min_n: int = 1
    options: tuple = ()      # names of the extra options the builder takes
    math: str = ""           # the formula in matplotlib mathtext, for plot titles

    def build(self, n: int, **options) -> Instance:
        if isinstance(n, bool) or not isinstance(n, int):
            raise DeriveError(f"depth must be a whole number, got {n!r}")
        if n < self.min_n:
            raise DeriveError(f"depth must be at least {self.min_n} for {self.name}, got {n}")
        extra = [k for k, v in options.items() if v is not None and k not in self.options]
        if extra:
            raise DeriveError(f"option {', '.join(extra)} does not apply to the {self.name} family")
        opts = {k: v for k, v in options.items() if v is not None}
        return Instance(self.name, n, self.builder(n, **opts), self.domain, opts)


def _function(name, params, body, ret):
    lines = [f"def {name}({', '.join(params)}):"] + [f"    {ln}" for ln in body] + [f"    return {ret}"]
    return "\n".join(lines) + "\n"


def logistic(n: int) -> str:
    prev = ["x"] + [f"l{k}" for k in range(2, n + 1)]  # l1 is x itself
    body = [f"l{k} = 4*{prev[k - 2]}*(1 - {prev[k - 2]})" for k in range(2, n + 1)]
    return _function("logistic", ["x"], body, prev[n - 1])


def nested_sigmoid(n: int) -> str:
    if n <= 3:
        return "sigmoid(" * n + "x" + ")" * n
    body = ["s1 = sigmoid(x)"] + [f"s{k} = sigmoid(s{k - 1})" for k in range(2, n + 1)]
    return _function("nested_sigmoid", ["x"], body, f"s{n}")


def mlp(n: int, width: int = 2) -> str:
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise DeriveError(f"width must be a positive whole number, got {width!r}")
    params, body = ["x"], []
    prev = [f"x[{j}]" for j in range(width)]
    for layer in range(1, n + 1):
        params += [f"W{layer}", f"b{layer}"]
        cur = []
        for i in range(width):
            terms = " + ".join(f"W{layer}[{i * width + j}]*{p}" for j, p in enumerate(prev))
            body.append(f"h{layer}_{i} = sigmoid({terms} + b{layer}[{i}])")
            cur.append(f"h{layer}_{i}")
        prev = cur
    params.append("v")
    return _function("mlp", params, body, " + ".join(f"v[{j}]*{p}" for j, p in enumerate(prev)))


def product(n: int) -> str:
    return "*".join(f"x{k}" for k in range(1, n + 1))


def cs231n(n: int) -> str:
    if n == 1:
        return CS231N
    body = []
    prev = "x"
    for k in range(1, n + 1):
        body.append(f"x{k} = ({prev} + sigmoid(y)) / (sigmoid({prev}) + ({prev} + y)**2)")
        prev = f"x{k}"
    return _function("cs231n", ["x", "y"], body, prev)


def two_layer(n: int) -> str:
    d = n
    body = []
    for j in range(d):
        terms = " + ".join(f"W1[{j * d + k}]*x[{k}]" for k in range(d))
        body.append(f"a{j} = sigmoid({terms} + b[{j}])")
    for i in range(d):
        terms = " + ".join(f"W2[{i * d + j}]*a{j}" for j in range(d))
        body.append(f"r{i} = {terms} - y[{i}]")
    loss = " + ".join(f"r{i}**2" for i in range(d))
    body.append(f"loss = ({loss}) / 2")
    return _function("two_layer", ["x", "W1", "b", "W2", "y"], body, "loss")


FAMILIES = {f.name: f for f in [
    Family("logistic", "logistic map l_{n+1} = 4 l_n (1 - l_n)", logistic, (0.05, 0.95),
           math=r"logistic map $l_{n+1} = 4\,l_n\,(1 - l_n)$, $l_1 = x$"),
    Family("nested-sigmoid", "sigmoid nested n times", nested_sigmoid, (-3.0, 3.0),
           math=r"$\sigma(\sigma(\cdots\sigma(x)))$, n times"),
    Family("mlp", "MLP: n sigmoid layers of scalar weights", mlp, (-1.0, 1.0), options=("width",),
           math=r"MLP: n layers of $\sigma(W h + b)$, scalar weights"),
    Family("product", "product x1 x2 ... xn", product, (0.5, 1.5),
           math=r"product $x_1 x_2 \cdots x_n$"),
    Family("cs231n", "CS231n f(x, y) applied n times", cs231n, (-2.0, 2.0),
           math=r"$x_k = \frac{x_{k-1} + \sigma(y)}{\sigma(x_{k-1}) + (x_{k-1} + y)^2}$, n times"),
    Family("two-layer", "1/2 ||W2 sigmoid(W1 x + b) - y||^2, d = n", two_layer, (-1.0, 1.0),
           math=r"$\frac{1}{2}\|W_2\,\sigma(W_1 x + b) - y\|^2$, d = n"),
]}


def family(name: str) -> Family:
    """The family called ``name``; a clear error listing the known ones otherwise."""
    if name not in FAMILIES:
        raise DeriveError(f"unknown family '{name}'; known families: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def build(name: str, n: int, **options) -> Instance:
    """``build("logistic", 4).text`` -> the logistic map at depth 4, ready for ``stage``."""
    return family(name).build(n, **options)
