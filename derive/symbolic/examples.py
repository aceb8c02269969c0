"""The catalogue of example functions that drives the tests, the demo and the notebooks.

Each example is an expression string or the source of a straight-line Python function, a
point, and (for the seeds) the numbers the source document publishes, which derive must
reproduce exactly (``prog.run(..., exact=True)`` gives correctly rounded values).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from derive.frontend.reader import parse_function
from derive.staging.staged import stage
from derive.staging.staged import stage_graph

CS231N_FXY = "(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)"

#: The notes' staged forward pass, as written there (section "Staged computation").
CS231N_FXY_CODE = '''\
import math


def fxy(x, y):
    sigy = 1.0 / (1 + math.exp(-y))  # sigmoid in numerator   #(1)
    num = x + sigy  # numerator                               #(2)
    sigx = 1.0 / (1 + math.exp(-x))  # sigmoid in denominator #(3)
    xpy = x + y                                               #(4)
    xpysqr = xpy**2                                           #(5)
    den = sigx + xpysqr  # denominator                        #(6)
    invden = 1.0 / den                                        #(7)
    f = num * invden  # done!                                 #(8)
    return f
'''

#: The 2-D sigmoid neuron of the notes (and of the Q&A thread), w = [2, -3, -3], x = [-1, -2].
NEURON_CODE = '''\
import math


def neuron(w, x):
    dot = w[0]*x[0] + w[1]*x[1] + w[2]
    f = 1.0 / (1 + math.exp(-dot))  # sigmoid function
    return f
'''

#: The discussion sheet's 1(a): l(x) = h(f(x), g(x)) with f = x^2, g = x, h = x1^2 + x2^2.
TOTAL_DERIVATIVE_CODE = '''\
def l(x):
    f = x**2
    g = x
    h = f**2 + g**2
    return h
'''


@dataclass(frozen=True)
class Example:
    """One catalogue entry."""

    name: str
    source: str                    # expression string or Python source
    point: dict                    # where the seeds evaluate it
    function: str | None = None    # the def's name when source is Python
    value: float | None = None     # published value at point
    grad: dict = field(default_factory=dict)  # published gradient at point
    about: str = ""

    def target(self):
        """What ``derive.stage`` takes: the expression string or the function's source."""
        return self.source


CATALOGUE = [
    Example("mul-gate", "x * y", {"x": 4, "y": -3}, value=-12.0, grad={"x": -3.0, "y": 4.0},
            about="CS231n: the multiply gate swaps its inputs"),
    Example("add-gate", "x + y", {"x": 4, "y": -3}, value=1.0, grad={"x": 1.0, "y": 1.0},
            about="the add gate distributes the gradient"),
    Example("max-gate", "max(x, y)", {"x": 4, "y": 2}, value=4.0, grad={"x": 1.0, "y": 0.0},
            about="the max gate routes the gradient"),
    Example("chain-xyz", "(x + y) * z", {"x": -2, "y": 5, "z": -4}, value=-12.0,
            grad={"x": -4.0, "y": -4.0, "z": 3.0}, about="CS231n: q = x + y, f = q z"),
    Example("cs231n-fxy", CS231N_FXY, {"x": 3, "y": -4}, value=1.5456448841066441,
            grad={"x": 2.059569795572165, "y": 1.5922327514838093},
            about="CS231n staged computation example"),
    Example("cs231n-fxy-code", CS231N_FXY_CODE, {"x": 3, "y": -4}, function="fxy",
            value=1.5456448841066441, grad={"x": 2.059569795572165, "y": 1.5922327514838093},
            about="the same, as the notes' own staged code"),
    Example("sigmoid-neuron", NEURON_CODE, {"w": [2, -3, -3], "x": [-1, -2]}, function="neuron",
            value=0.7310585786300049,
            grad={"w": [-0.19661193324148185, -0.3932238664829637, 0.19661193324148185],
                  "x": [0.3932238664829637, -0.5898357997244456]},
            about="CS231n / Q&A thread: the 2-D sigmoid neuron"),
    Example("total-derivative", TOTAL_DERIVATIVE_CODE, {"x": 2}, function="l", value=20.0,
            grad={"x": 36.0}, about="discussion sheet 1(a): l'(x) = 4x^3 + 2x"),
    Example("logistic-3", "4*(4*(4*x*(1 - x))*(1 - 4*x*(1 - x)))*(1 - 4*(4*x*(1 - x))*(1 - 4*x*(1 - x)))",
            {"x": 0.3}, about="logistic map l_{n+1} = 4 l_n (1 - l_n), n = 3: forks everywhere"),
    Example("exp-sin", "exp(x) * sin(y) + cos(x * y)", {"x": 0.5, "y": 1.5}),
    Example("log-sqrt", "log(x**2 + 1) / sqrt(y*y + 1)", {"x": 1.5, "y": -0.5}),
    Example("tanh", "tanh(x * y) - 2*sigmoid(2*x) + 1", {"x": 0.3, "y": -1.2},
            about="tanh(x) = 2 sigmoid(2x) - 1, so the last two terms cancel tanh at y = 1"),
    Example("kinks", "relu(x - y) + abs(x * y) + max(x, y) * min(x, 2)", {"x": 1.5, "y": -0.5}),
    Example("power", "x**y + x**3 - 2**y", {"x": 1.5, "y": 0.7}),
    Example("repeated", "x * x * x + x / (x + 1)", {"x": 0.8}, about="one input, many forks"),
    Example("unary-minus", "-x * -(y - x) - (-y)", {"x": 0.4, "y": 2.0}),
]

BY_NAME = {e.name: e for e in CATALOGUE}


def stage_example(example: Example, gates: str = "grouped"):
    """The staged program of a catalogue entry."""

    if example.function:
        return stage_graph(parse_function(example.source, example.function, gates), example.function)
    return stage(example.source, gates=gates)
