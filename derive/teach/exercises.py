"""The exercises: an exercise directory as a gradable object; answer keys derived at grading time.

An exercise is a directory (``derive.teach.exercise_spec``); the six built-in ones live in
``exercises/<name>/`` and are found by name. Keys are never stored: a scalar exercise stages
its forward function with derive and runs the staged program; a NumPy one runs the generated
backward code of derive's array engine. Every key is checked against central differences
before it is used. In a notebook::

    from derive.exercises import check
    check("staged_fxy", backward)          # instant feedback: score, first wrong line, misconception
    check("path/to/my_exercise", backward)
"""
from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from derive.teach import exercise_spec
from derive.teach import misconceptions
from derive.teach import array_keys as vector_reference
from derive.oracle.central import central_difference
from derive.core.errors import DeriveError
from derive.teach.grading.sandbox import FORBIDDEN, Limits
from derive.staging.staged import stage
from derive.teach.feedback import assess
from derive.teach.grading.sandbox_child import plain
from derive.staging.arrays import stage_arrays
from derive.teach.diagnosis import LineJudge
from derive.teach import loop_reference
from derive.teach.grading import recorder


@dataclass
class Key:
    """The right answer at one point: outputs, adjoints (backward order), forward values."""

    value: float
    outputs: dict
    adjoints: dict = field(default_factory=dict)
    forward: dict = field(default_factory=dict)


class Exercise:
    """One exercise: the learner writes ``backward(*params)`` returning ``outputs``."""

    def __init__(self, spec):
        self.spec = spec
        self.name, self.title, self.directory = spec.name, spec.title, spec.directory
        self.params = tuple(p.name for p in spec.params)
        self.outputs = tuple(spec.returns)
        self.example = spec.example
        self.vector = spec.kind == "numpy"
        self.forbidden = FORBIDDEN
        self.points_per_variant = spec.n_points
        self.rtol, self.atol = spec.rtol, spec.atol
        self._arrays = {}

    def __repr__(self):
        return f"Exercise({self.name!r}, {self.directory!r})"

    # ---- points ------------------------------------------------------------------------
    def points(self, seed: int = 0, student: str = "", student_seed=None) -> list:
        """The learner's own points: different per (seed, student), reproducible.

        ``student_seed`` (a roster's ``seed`` column) replaces the id as the source of values.
        """
        if student_seed is not None:
            rng = np.random.default_rng([int(student_seed) & 0xFFFFFFFF, int(seed) & 0xFFFFFFFF,
                                         self.spec.digest])
        else:
            rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(student.encode()),
                                         self.spec.digest])
        pts = [self.spec.sample(rng) for _ in range(self.points_per_variant)]
        if not self.vector:
            pts = [{k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in p.items()} for p in pts]
        return pts

    def example_points(self) -> list:
        """What ``check`` uses: the example point first, then two seeded ones."""
        pts = [{k: np.asarray(v, dtype=float) if self.vector else v for k, v in self.example.items()}]
        return pts + self.points(0, "example")[:2]

    def limits(self) -> Limits:
        s = self.spec
        return Limits(time=s.time, memory=s.memory_mb * 2**20, output=s.output_kb * 1024,
                      forbidden=tuple(self.forbidden))

    # ---- keys --------------------------------------------------------------------------
    @cached_property
    def program(self):
        if self.vector or self.spec.per_output:
            return None
        return stage(self.spec.source)

    @cached_property
    def programs(self):
        return {out: stage(expr) for out, expr in self.spec.per_output.items()}

    def array_program(self, point):

        shapes = tuple((k, np.shape(point[k])) for k in self.params)
        if shapes not in self._arrays:
            self._arrays[shapes] = stage_arrays(self.spec.source, "grouped", dict(shapes))
        return self._arrays[shapes]

    @cached_property
    def _variants(self):
        if self.program is not None:
            return misconceptions.program_variants(self.program)
        return {out: misconceptions.program_variants(p) for out, p in self.programs.items()}

    @cached_property
    def line_judge(self):
        """Judges each backward line of a scalar staged exercise on its own (``derive.teach.diagnosis``)."""

        return LineJudge(self.program) if self.program is not None and not self.program.loops else None

    def loop_program(self, point):
        """The staged program (scalar) or the array program at ``point``'s shapes (NumPy)."""
        return self.array_program(point) if self.vector else self.program

    @cached_property
    def loop_reference(self):
        """The rolled backward loop a loop exercise's lines are compared with (else None)."""
        if not self.vector and self.program is None:
            return None
        prog = self.loop_program(self.example_points()[0])
        if not prog.loops:
            return None
        user = {ln.target.name for ln in prog.forward if ln.user}
        try:
            return loop_reference.reference(prog, self.outputs, user)
        except DeriveError:  # a rolled program that does not print as a function: lines at return
            return None

    @property
    def has_loops(self) -> bool:
        """The backward pass is a loop: the learner's is recorded step by step while grading."""
        return self.loop_reference is not None

    def reference_args(self, prog, point) -> list:
        """The reference program's arguments at ``point``, in its parameter order."""
        if not self.vector:
            return [float(point[k]) for k in prog.param_names]
        inputs = _inputs(prog, point)
        return [inputs[k] for k in prog.param_names]

    @property
    def has_lines(self) -> bool:
        """Graded line by line: the key has adjoints besides the outputs."""
        return self.spec.lines

    @property
    def template_names(self) -> set:
        """Names the template already gives (the forward pass): no credit for keeping them."""
        if self.program is not None:
            return {ln.target.name for ln in self.program.forward if ln.user}
        if self.vector:
            prog = self.array_program(self.example_points()[0])
            return {ln.target.name for ln in prog.forward if ln.user}
        return set()

    def key(self, point: dict) -> Key:
        if self.vector:
            return self._array_key(point)
        if self.program is not None:
            return _staged_key(self.program, point, self.outputs)
        (param,) = self.params
        return Key(0.0, {out: p.run(**point).grad[param] for out, p in self.programs.items()})

    def _array_key(self, point):
        prog = self.array_program(point)
        r = prog.run(**_inputs(prog, point))
        outputs = {o: np.asarray(r.grad[o[1:]]) for o in self.outputs}
        user = {ln.target.name for ln in prog.forward if ln.user}
        adjoints = {a: np.asarray(v) for a, v in r.adjoints.items() if a[1:] in user or a in outputs}
        return Key(float(r.value), outputs, adjoints,
                   {k: np.asarray(r.values[k]) for k in r.values if k in user})

    def variants(self, point: dict) -> list:
        """[(label, Key or None)]: the known-wrong answers at this point (same list at every point);
        a loop's are edits of its printed loop (``derive.teach.loop_reference``), not listed here."""
        if self.has_loops:
            return []
        if self.vector:
            if not self.spec.variants:
                return []
            return [(label, Key(*k)) for label, k in vector_reference.variants(self.spec.variants, point)]
        out = []
        if self.program is not None:
            for label, prog in self._variants:
                try:
                    out.append((label, _staged_key(prog, point, self.outputs)))
                except (DeriveError, ZeroDivisionError, OverflowError, ValueError):
                    out.append((label, None))  # keeps the variants aligned across points
            ref = self.program.run(**point)
            key = _staged_key(self.program, point, self.outputs, ref)
            for name, parts in misconceptions.contributions(self.program, ref).items():
                if name in key.outputs:
                    for s in misconceptions.partial_sums(parts):
                        out.append(("fork-overwrite", Key(key.value, {**key.outputs, name: s},
                                                          {**key.adjoints, name: s}, key.forward)))
            return out
        base = self.key(point)
        (param,) = self.params
        for output, progs in self._variants.items():
            for label, prog in progs:
                try:
                    wrong = prog.run(**point).grad[param]
                except (DeriveError, ZeroDivisionError, OverflowError, ValueError):
                    out.append((label, None))
                    continue
                out.append((label, Key(0.0, {**base.outputs, output: wrong})))
        return out

    def loss(self, point: dict) -> float:
        if self.vector:
            prog = self.array_program(point)
            return prog.run(**_inputs(prog, point)).value
        return self.program.run(**point).value

    def verify(self, point: dict, key: Key) -> None:
        """Check the key's gradient against central differences; raise DeriveError if off."""
        for out in self.outputs:
            if self.programs:
                f = lambda p, prog=self.programs[out]: prog.run(**p).value  # noqa: E731
                param = self.params[0]
            else:
                f, param = self.loss, out[1:]
            grad = np.asarray(key.outputs[out], dtype=float)
            if self.vector and grad.size > 1:  # arrays: the gradient along random directions
                bad = not all(_directional_ok(f, point, param, grad, seed) for seed in (1, 2))
            else:
                bad = not np.allclose(central_difference(f, point, param), grad, rtol=1e-4, atol=1e-6)
            if bad:
                raise DeriveError(f"internal check failed: the key's {out} disagrees with central "
                                  f"differences at {point}")


def _inputs(prog, point) -> dict:
    """A point as the array program's inputs: class labels (sampled as whole floats) as integers."""
    return {k: np.asarray(v, dtype=int if k in prog.labels else float) for k, v in point.items()}


def _directional_ok(f, point, param, grad, seed) -> bool:
    """The central difference of f along a random direction v against grad . v."""
    v = np.random.default_rng(seed).standard_normal(grad.shape)
    base = np.asarray(point[param], dtype=float)
    fd = central_difference(lambda q: f({**point, param: base + q["t"] * v}), {"t": 0.0}, "t")
    exact = float(np.sum(grad * v))
    return abs(fd - exact) <= 1e-4 * np.linalg.norm(grad) * np.linalg.norm(v) + 1e-6


def _staged_key(prog, point, outputs, result=None) -> Key:
    """The key from a staged run; lines only for names the learner sees (inputs, user names)."""
    r = result or prog.run(**point)
    outs = {o: r.grad[o[1:]] for o in outputs}
    shown = {ln.target for ln in prog.forward if ln.user} | set(prog.inputs)
    adjoints = {}  # in backward order of completion: where each adjoint is written last
    for bl in prog.backward:
        if bl.var not in shown or bl.seed:  # df = 1 is printed, not asked for
            continue
        name = bl.target.name.split("[")[0]
        adjoints.pop(name, None)
        adjoints[name] = r.grad[name[1:]] if "[" in bl.target.name else r.adjoints[name]
    for out, value in outs.items():
        adjoints.setdefault(out, value)
    forward = {ln.target.name: r.values[ln.target.name] for ln in prog.forward if ln.user}
    return Key(r.value, outs, adjoints, forward)


_CACHE: dict = {}


def get(name) -> Exercise:
    """The exercise called ``name`` (built-in) or in directory ``name``; a clear error otherwise."""
    if isinstance(name, Exercise):
        return name
    directory = exercise_spec.resolve(name)
    path = os.path.join(directory, "exercise.toml")
    stamp = (directory, os.path.getmtime(path) if os.path.exists(path) else 0)
    if stamp not in _CACHE:
        _CACHE[stamp] = Exercise(exercise_spec.load(directory))
    return _CACHE[stamp]


def _builtins() -> dict:
    out = {}
    for name in exercise_spec.BUILTIN:
        try:
            out[name] = get(name)
        except DeriveError:  # an installation without the exercises/ folder
            pass
    return out


EXERCISES = _builtins()


def my_values(name, student: str, seed: int = 0) -> list:
    """The points a learner's submission is graded at (``derive grade --seed S``), to print on a sheet."""
    return get(name).points(seed, student)


def check(name, fn, seed=None, student: str = ""):
    """Instant feedback in a notebook: grade ``fn`` (run here, in the learner's own process).

    ``name`` is a built-in exercise or an exercise directory. By default at the example points;
    with ``seed`` at the learner's own points, those ``derive grade --seed`` uses for ``student``.
    """

    ex = get(name)
    points = ex.example_points() if seed is None else ex.points(seed, student)
    source = _source_of(fn)
    steps = recorder.plan(source, fn.__name__) if source and ex.has_loops else None
    calls = []
    for p in points:
        try:
            args, history = [p[k] for k in ex.params], None
            if steps:
                value, local, history = recorder.call_recorded(fn, args, steps, plain)
            else:
                value, local = recorder.call_with_locals(fn, args)
            calls.append({"returned": plain(value), "locals": {k: plain(v) for k, v in local.items()}})
            if history is not None:
                calls[-1]["history"] = history
        except NotImplementedError as err:
            calls.append({"error": f"not implemented yet (NotImplementedError: {err})"})
        except Exception as err:  # the learner's bug: reported, not raised
            calls.append({"error": f"{type(err).__name__}: {err}"})
    return assess(ex, points, {"calls": calls, "error": None, "output": ""}, source=source)


def _source_of(fn):
    """The source of ``fn`` at its own line numbers (blank lines before it), or None."""
    try:
        import inspect

        import textwrap

        return "\n" * (fn.__code__.co_firstlineno - 1) + textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError, AttributeError):
        return None
