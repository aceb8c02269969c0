"""The exercises: definitions, per-student points, answer keys derived at grading time, ``check``.

Each exercise is a function ``backward(...)`` the learner writes (templates in ``exercises/``).
Its key is never stored: scalar exercises stage their forward function with derive and run
the staged program (``derive.stage(...).run(...)``); the NumPy ones run the generated
backward code of derive's array engine (``derive.vector_reference``). Every key is checked against
central differences before it is used. In a notebook::

    from derive.exercises import check
    check("staged_fxy", backward)      # instant feedback: score, first wrong line, misconception
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from derive import examples, misconceptions, vector_reference
from derive.central import central_difference
from derive.errors import DeriveError
from derive.sandbox import FORBIDDEN
from derive.staged import stage

NEURON = examples.NEURON_CODE   # the notes' neuron, staged as the learner writes it
FXY = examples.CS231N_FXY_CODE  # the notes' staged f(x, y), with their names
# The sheet's l(x) = h(f(x), g(x)); `hg = g * g` keeps the g-path its own gate (g**2 would be
# shared with f = x**2, since g = x), so the learner's dhf, dhg, df line up with the key.
TOTAL = """def ell(x):
    f = x**2
    g = x
    hf = f**2
    hg = g * g
    l = hf + hg
    return l
"""
ACTIVATIONS = {"dsigmoid": "sigmoid(x)", "drelu": "relu(x)", "dtanh": "tanh(x)",
               "dleaky": "max(x, -0.1*x)"}


@dataclass
class Key:
    """The right answer at one point: outputs, adjoints (backward order), forward values."""

    value: float
    outputs: dict
    adjoints: dict = field(default_factory=dict)
    forward: dict = field(default_factory=dict)


def _round(rng, lo, hi, shape=None):
    return np.round(rng.uniform(lo, hi, shape), 1)


def _away_from_zero(rng):
    return float(np.round(rng.choice([-1, 1]) * rng.uniform(0.3, 3.0), 1))


_SAMPLERS = {
    "sigmoid_neuron": lambda r: {"w": _round(r, -3, 3, 3).tolist(), "x": _round(r, -3, 3, 2).tolist()},
    "staged_fxy": lambda r: {"x": float(_round(r, -4, 4)), "y": float(_round(r, -4, 4))},
    "total_derivative": lambda r: {"x": _away_from_zero(r)},
    "activations": lambda r: {"x": _away_from_zero(r)},
    "matmul": lambda r: {"W": _round(r, -2, 2, (3, 4)), "X": _round(r, -2, 2, (4, 2)),
                         "dD": _round(r, -2, 2, (3, 2))},
    "two_layer": lambda r: {"W1": _round(r, -1, 1, (4, 3)), "b": _round(r, -1, 1, 4),
                            "W2": _round(r, -1, 1, (2, 4)), "x": _round(r, -2, 2, 3),
                            "y": _round(r, -1, 1, 2)},
}


@dataclass
class Exercise:
    """One exercise: the learner writes ``backward(*params)`` returning ``outputs``."""

    name: str
    title: str
    params: tuple
    outputs: tuple
    example: dict
    source: str = ""                  # staged reference (scalar exercises)
    sources: dict = field(default_factory=dict)  # one staged program per output (activations)
    vector: bool = False              # NumPy exercise (key from derive.vector_reference)
    points_per_variant: int = 3
    forbidden: tuple = FORBIDDEN      # imports the learner's code may not use

    # ---- points ------------------------------------------------------------------------
    def points(self, seed: int = 0, student: str = "") -> list:
        """The learner's own points: different per (seed, student), reproducible."""
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(student.encode()),
                                     zlib.crc32(self.name.encode())])
        return [_SAMPLERS[self.name](rng) for _ in range(self.points_per_variant)]

    def example_points(self) -> list:
        """What ``check`` uses: the notes' point first, then two seeded ones."""
        pts = [{k: np.asarray(v, dtype=float) if self.vector else v for k, v in self.example.items()}]
        return pts + self.points(0, "example")[:2]

    # ---- keys --------------------------------------------------------------------------
    @cached_property
    def program(self):
        return stage(self.source) if self.source else None

    @cached_property
    def programs(self):
        return {out: stage(src) for out, src in self.sources.items()}

    @cached_property
    def _variants(self):
        if self.program is not None:
            return misconceptions.program_variants(self.program)
        return {out: misconceptions.program_variants(p) for out, p in self.programs.items()}

    @property
    def has_lines(self) -> bool:
        """Graded line by line: the key has adjoints besides the outputs."""
        return self.program is not None or self.name == "two_layer"

    def key(self, point: dict) -> Key:
        if self.vector:
            return Key(*vector_reference.reference(self.name, point))
        if self.program is not None:
            return _staged_key(self.program, point, self.params)
        outs = {out: p.run(**point).grad["x"] for out, p in self.programs.items()}
        return Key(0.0, outs)

    def variants(self, point: dict) -> list:
        """[(label, Key or None)]: the known-wrong answers at this point (same list at every point)."""
        if self.vector:
            return [(label, Key(*k)) for label, k in vector_reference.variants(self.name, point)]
        out = []
        if self.program is not None:
            for label, prog in self._variants:
                try:
                    out.append((label, _staged_key(prog, point, self.params)))
                except (DeriveError, ZeroDivisionError, OverflowError, ValueError):
                    out.append((label, None))  # keeps the variants aligned across points
            ref = self.program.run(**point)
            key = _staged_key(self.program, point, self.params, ref)
            for name, parts in misconceptions.contributions(self.program, ref).items():
                if name in key.outputs:
                    for s in misconceptions.partial_sums(parts):
                        out.append(("fork-overwrite", Key(key.value, {**key.outputs, name: s},
                                                          {**key.adjoints, name: s}, key.forward)))
            return out
        base = self.key(point)
        for output, progs in self._variants.items():
            for label, prog in progs:
                try:
                    wrong = prog.run(**point).grad["x"]
                except (DeriveError, ZeroDivisionError, OverflowError, ValueError):
                    out.append((label, None))
                    continue
                out.append((label, Key(0.0, {**base.outputs, output: wrong})))
        return out

    def verify(self, point: dict, key: Key) -> None:
        """Check the key's gradient against central differences; raise DeriveError if off."""
        for out, param in zip(self.outputs, self.params):
            if self.vector:
                f = lambda p: vector_reference.loss(self.name, p)  # noqa: E731
            elif self.program is not None:
                f = lambda p: self.program.run(**p).value  # noqa: E731
            else:
                f = lambda p, prog=self.programs[out]: prog.run(**p).value  # noqa: E731
            fd = central_difference(f, point, param)
            if not np.allclose(fd, np.asarray(key.outputs[out], dtype=float), rtol=1e-4, atol=1e-6):
                raise DeriveError(f"internal check failed: the key's {out} disagrees with central "
                                  f"differences at {point}")


def _staged_key(prog, point, params, result=None) -> Key:
    """The key from a staged run; lines only for names the learner sees (inputs, user names)."""
    r = result or prog.run(**point)
    outputs = {"d" + p: r.grad[p] for p in params}
    shown = {ln.target for ln in prog.forward if ln.user} | set(prog.inputs)
    adjoints = {}  # in backward order of completion: where each adjoint is written last
    for bl in prog.backward:
        if bl.var not in shown:
            continue
        name = bl.target.name.split("[")[0]
        adjoints.pop(name, None)
        adjoints[name] = r.grad[name[1:]] if "[" in bl.target.name else r.adjoints[name]
    for out, value in outputs.items():
        adjoints.setdefault(out, value)
    forward = {ln.target.name: r.values[ln.target.name] for ln in prog.forward if ln.user}
    return Key(r.value, outputs, adjoints, forward)


EXERCISES = {e.name: e for e in [
    Exercise("sigmoid_neuron", "The sigmoid neuron of the CS231n notes", ("w", "x"), ("dw", "dx"),
             {"w": [2.0, -3.0, -3.0], "x": [-1.0, -2.0]}, source=NEURON),
    Exercise("staged_fxy", "Staged backprop of f(x, y) from the CS231n notes", ("x", "y"),
             ("dx", "dy"), {"x": 3.0, "y": -4.0}, source=FXY),
    Exercise("total_derivative", "The total derivative of l(x) = h(f(x), g(x))", ("x",), ("dx",),
             {"x": 2.0}, source=TOTAL),
    Exercise("activations", "Local gradients of sigmoid, relu, tanh, leaky relu", ("x",),
             ("dsigmoid", "drelu", "dtanh", "dleaky"), {"x": 1.0}, sources=ACTIVATIONS),
    Exercise("matmul", "Backprop through D = W @ X", ("W", "X", "dD"), ("dW", "dX"),
             {"W": [[1.0, 2.0, 0.0, -1.0], [0.5, -1.0, 1.0, 2.0], [0.0, 1.0, -2.0, 1.0]],
              "X": [[1.0, 0.0], [2.0, -1.0], [0.0, 1.0], [-1.0, 3.0]],
              "dD": [[1.0, -1.0], [0.5, 2.0], [-2.0, 1.0]]}, vector=True),
    Exercise("two_layer", "The two-layer loss 1/2 ||W2 sigmoid(W1 x + b) - y||^2",
             ("W1", "b", "W2", "x", "y"), ("dW1", "db", "dW2", "dx"),
             {"W1": [[0.5, -1.0, 0.0], [1.0, 0.5, -0.5], [0.0, 1.0, 1.0], [-1.0, 0.0, 0.5]],
              "b": [0.1, -0.2, 0.0, 0.3], "W2": [[1.0, -1.0, 0.5, 0.0], [0.0, 0.5, 1.0, -1.0]],
              "x": [1.0, -2.0, 0.5], "y": [0.5, -0.5]}, vector=True),
]}


def get(name: str) -> Exercise:
    """The exercise called ``name``; a clear error naming the known ones otherwise."""
    if name not in EXERCISES:
        raise DeriveError(f"unknown exercise '{name}'; the exercises are: {', '.join(EXERCISES)}")
    return EXERCISES[name]


def my_values(name: str, student: str, seed: int = 0) -> list:
    """The points a learner's submission is graded at (``derive grade --seed S``), to print on a sheet."""
    return get(name).points(seed, student)


def check(name: str, fn, seed=None, student: str = ""):
    """Instant feedback in a notebook: grade ``fn`` (run here, not sandboxed).

    By default at the example points (the notes' point first); with ``seed`` at the learner's
    own points, those ``derive grade --seed`` uses for a file named ``<student>.py``.
    """
    from derive.feedback import assess
    from derive.sandbox_child import call_with_locals, plain

    ex = get(name)
    points = ex.example_points() if seed is None else ex.points(seed, student)
    calls = []
    for p in points:
        try:
            value, local = call_with_locals(fn, [p[k] for k in ex.params])
            calls.append({"returned": plain(value), "locals": {k: plain(v) for k, v in local.items()}})
        except NotImplementedError as err:
            calls.append({"error": f"not implemented yet (NotImplementedError: {err})"})
        except Exception as err:  # the learner's bug: reported, not raised
            calls.append({"error": f"{type(err).__name__}: {err}"})
    return assess(ex, points, {"calls": calls, "error": None, "output": ""})
