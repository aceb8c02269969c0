"""Read an exercise directory (``exercise.toml`` + forward source) into a checked ``Spec``.

An exercise is data: a directory holding ``exercise.toml`` (read with ``tomllib``), the
forward function's source, the learner's template (``template.py``, ``template.ipynb``) and a
``README.md``. The TOML says what to stage, how to sample each parameter, what ``backward``
returns, tolerances, points per test, hidden tests, whether lines are checked and the limits::

    name = "staged_fxy"
    title = "Staged backprop of f(x, y)"
    [function]
    file = "forward.py"        # the forward function's source (read, never run)
    name = "fxy"               # kind = "scalar" (default) or "numpy"
    [params.x]
    range = [-4, 4]            # uniform, rounded to `decimals` (default 1)
    [params.y]
    range = [-4, 4]
    [grading]
    returns = ["dx", "dy"]     # default: d<p> of every differentiable parameter, in order
    tests = {dx = 1, dy = 1, lines = 1}
    hidden = []
    [example]
    x = 3.0
    y = -4.0

Parameter sampling keys: ``range``, ``decimals``, ``shape``, ``min_abs`` (values away from
zero: a random sign times a value in [min_abs, hi]), ``values`` (pick from a list: numbers a
learner can work by hand), ``integers = [lo, hi]`` (labels; never differentiated) and
``differentiable = false``. Every problem is one DeriveError line naming the file and key.
"""
from __future__ import annotations

import ast
import os
import tomllib
import zlib
from dataclasses import dataclass, field

import numpy as np

from derive.core.errors import DeriveError
from derive.core.userfile import read_text
from derive.teach.array_keys import VARIANT_SETS
from derive.teach.grading import recorder

MAX_TOML = 200_000
ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                    "exercises")  # the repository's exercises/ beside derive/
BUILTIN = ("sigmoid_neuron", "staged_fxy", "total_derivative", "activations", "matmul", "two_layer",
           "two_layer_batch")
KINDS = ("scalar", "numpy")
_PARAM_KEYS = {"range", "decimals", "shape", "min_abs", "values", "integers", "differentiable"}
_GRADING_KEYS = {"returns", "tests", "hidden", "lines", "samples", "rtol", "atol", "variants"}
_TOP_KEYS = {"name", "title", "function", "params", "grading", "example", "limits", "outputs"}


@dataclass
class Param:
    """How one parameter of the forward function is sampled."""

    name: str
    lo: float = -3.0
    hi: float = 3.0
    decimals: int = 1
    shape: tuple = ()
    min_abs: float = 0.0
    values: tuple = ()
    integers: tuple = ()
    differentiable: bool = True

    def sample(self, rng):
        if self.integers:
            v = rng.integers(self.integers[0], self.integers[1] + 1, self.shape or None)
            return v.astype(float) if self.shape else float(v)
        if self.values:
            v = rng.choice(np.asarray(self.values, dtype=float), self.shape or None)
        elif self.min_abs:
            v = rng.choice([-1, 1], self.shape or None) * rng.uniform(self.min_abs, self.hi, self.shape or None)
        else:
            v = rng.uniform(self.lo, self.hi, self.shape or None)
        v = np.round(v, self.decimals)
        return v if self.shape else float(v)


@dataclass
class Spec:
    """An exercise as read from its directory (nothing staged yet)."""

    name: str
    title: str
    directory: str
    kind: str                       # "scalar" or "numpy"
    params: list                    # [Param] in the function's parameter order
    returns: tuple                  # what backward returns, in order
    example: dict
    source: str = ""                # the forward function (scalar or NumPy)
    function: str = ""
    per_output: dict = field(default_factory=dict)  # {output: expression in the one parameter}
    n_points: int = 3
    rtol: float = 1e-5
    atol: float = 1e-8
    tests: dict = field(default_factory=dict)       # {test name: points}
    hidden: tuple = ()
    lines: bool = True
    variants: str = ""              # a named set of formula variants (NumPy built-ins)
    time: float = 10.0
    memory_mb: int = 512
    output_kb: int = 1024

    def sample(self, rng) -> dict:
        return {p.name: p.sample(rng) for p in self.params}

    @property
    def digest(self) -> int:
        return zlib.crc32(self.name.encode())


def resolve(name_or_dir: str) -> str:
    """The directory of a built-in name or of a path; DeriveError naming both options otherwise."""
    text = str(name_or_dir)
    if os.path.isdir(text):
        return os.path.abspath(text)
    if text in BUILTIN and os.path.isdir(os.path.join(ROOT, text)):
        return os.path.join(ROOT, text)
    raise DeriveError(f"unknown exercise '{text}'; the exercises are: {', '.join(BUILTIN)} "
                      "(or give an exercise directory holding exercise.toml)")


def _fail(path, msg):
    raise DeriveError(f"{path}: {msg}")


def _number(path, key, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        _fail(path, f"{key} must be a number, got {v!r}")
    return float(v)


def _param(path, name, raw) -> Param:
    if not isinstance(raw, dict):
        _fail(path, f"[params.{name}] must be a table, e.g. range = [-3, 3]")
    unknown = set(raw) - _PARAM_KEYS
    if unknown:
        _fail(path, f"[params.{name}] has unknown key {sorted(unknown)[0]!r}; "
                    f"use {', '.join(sorted(_PARAM_KEYS))}")
    p = Param(name)
    if "range" in raw:
        r = raw["range"]
        if not (isinstance(r, list) and len(r) == 2):
            _fail(path, f"params.{name}.range must be [low, high]")
        p.lo, p.hi = (_number(path, f"params.{name}.range", v) for v in r)
        if p.lo >= p.hi:
            _fail(path, f"params.{name}.range: low must be below high")
    if "shape" in raw:
        s = raw["shape"]
        if not (isinstance(s, list) and all(isinstance(d, int) and 0 < d <= 1000 for d in s)):
            _fail(path, f"params.{name}.shape must be a list of positive integers, e.g. [3, 4]")
        p.shape = tuple(s)
    if "decimals" in raw:
        if not isinstance(raw["decimals"], int) or not 0 <= raw["decimals"] <= 8:
            _fail(path, f"params.{name}.decimals must be an integer from 0 to 8")
        p.decimals = raw["decimals"]
    if "min_abs" in raw:
        p.min_abs = _number(path, f"params.{name}.min_abs", raw["min_abs"])
        if not 0 < p.min_abs < p.hi:
            _fail(path, f"params.{name}.min_abs must be between 0 and the range's high end")
    if "values" in raw:
        vals = raw["values"]
        if not (isinstance(vals, list) and vals):
            _fail(path, f"params.{name}.values must be a non-empty list of numbers")
        p.values = tuple(_number(path, f"params.{name}.values", v) for v in vals)
    if "integers" in raw:
        r = raw["integers"]
        if not (isinstance(r, list) and len(r) == 2 and all(isinstance(v, int) for v in r) and r[0] <= r[1]):
            _fail(path, f"params.{name}.integers must be [low, high] integers")
        p.integers, p.differentiable = tuple(r), False
    if "differentiable" in raw:
        if not isinstance(raw["differentiable"], bool):
            _fail(path, f"params.{name}.differentiable must be true or false")
        p.differentiable = raw["differentiable"] and not p.integers
    return p


def signature(source: str, func: str, where: str) -> list:
    """The parameter names of ``func`` in ``source`` (parsed, never run)."""
    try:
        tree = recorder.parse(source)
    except SyntaxError as err:
        raise DeriveError(f"{where}: syntax error at line {err.lineno}: {err.msg}") from None
    fns = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == func]
    if not fns:
        raise DeriveError(f"{where}: no function named '{func}'")
    a = fns[-1].args
    if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs:
        raise DeriveError(f"{where}: {func} must take plain positional parameters (no *args, **kw)")
    return [x.arg for x in a.args]


def load(name_or_dir: str) -> Spec:
    """Read and check an exercise directory (or a built-in's name)."""
    directory = resolve(name_or_dir)
    path = os.path.join(directory, "exercise.toml")
    if not os.path.isfile(path):
        raise DeriveError(f"{directory} has no exercise.toml; create one with "
                          "`derive exercise new FILE.py:FUNC -o DIR`")
    try:
        data = tomllib.loads(read_text(path, MAX_TOML))
    except tomllib.TOMLDecodeError as err:
        raise DeriveError(f"{path}: not valid TOML ({err})") from None
    unknown = set(data) - _TOP_KEYS
    if unknown:
        _fail(path, f"unknown key {sorted(unknown)[0]!r}; the keys are {', '.join(sorted(_TOP_KEYS))}")
    fn = data.get("function", {})
    name = data.get("name") or os.path.basename(directory.rstrip(os.sep))
    if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
        _fail(path, "name must be letters, digits, - and _")
    kind = fn.get("kind", "scalar")
    if kind not in KINDS:
        _fail(path, f"function.kind must be one of {', '.join(KINDS)}, got {kind!r}")
    raw_params = data.get("params", {})
    if not isinstance(raw_params, dict):
        _fail(path, "[params] must be a table of tables, e.g. [params.x] range = [-3, 3]")
    per_output = data.get("outputs", {})
    source, func = "", ""
    if per_output:
        if not isinstance(per_output, dict) or not all(isinstance(v, str) for v in per_output.values()):
            _fail(path, '[outputs] maps each returned name to an expression, e.g. dsigmoid = "sigmoid(x)"')
        order = list(raw_params)
    else:
        fname = fn.get("file", "forward.py")
        if not isinstance(fname, str) or os.path.isabs(fname) or ".." in fname.split("/"):
            _fail(path, "function.file must be a file name inside the exercise directory")
        source = read_text(os.path.join(directory, fname), 1_000_000)
        func = fn.get("name", "")
        if not func:
            _fail(path, "function.name is missing: the forward function's name in " + fname)
        order = signature(source, func, os.path.join(directory, fname))
        extra = set(raw_params) - set(order)
        if extra:
            _fail(path, f"[params.{sorted(extra)[0]}] is not a parameter of {func}({', '.join(order)})")
    params = [_param(path, n, raw_params.get(n, {})) for n in order]
    if not params:
        _fail(path, "the function has no parameters")
    g = data.get("grading", {})
    if not isinstance(g, dict) or set(g) - _GRADING_KEYS:
        _fail(path, f"[grading] takes the keys {', '.join(sorted(_GRADING_KEYS))}")
    returns = g.get("returns") or (list(per_output) if per_output else
                                   ["d" + p.name for p in params if p.differentiable])
    if not (isinstance(returns, list) and returns and all(isinstance(r, str) and r.isidentifier() for r in returns)):
        _fail(path, 'grading.returns must be a list of names, e.g. ["dx", "dy"]')
    if not per_output:
        known = {"d" + p.name for p in params if p.differentiable}
        bad = [r for r in returns if r not in known]
        if bad:
            _fail(path, f"grading.returns: {bad[0]} is not d<differentiable parameter> ({', '.join(sorted(known))})")
    lines = g.get("lines", not per_output)
    names = list(returns) + (["lines"] if lines else [])
    tests = g.get("tests", {})
    if not isinstance(tests, dict) or set(tests) - set(names):
        _fail(path, f"grading.tests gives points to the tests {', '.join(names)}")
    tests = {n: _number(path, f"grading.tests.{n}", tests.get(n, 1)) for n in names}
    if any(v < 0 for v in tests.values()) or sum(tests.values()) <= 0:
        _fail(path, "grading.tests: points must be non-negative and not all zero")
    hidden = g.get("hidden", [])
    if not isinstance(hidden, list) or set(hidden) - set(names):
        _fail(path, f"grading.hidden lists test names among {', '.join(names)}")
    example = data.get("example", {})
    if set(example) != {p.name for p in params}:
        _fail(path, f"[example] gives a value to each parameter: {', '.join(order)}")
    lim = data.get("limits", {})
    spec = Spec(name, str(data.get("title", name)), directory, kind, params, tuple(returns), example,
                source, func, dict(per_output), int(g.get("samples", 3)),
                _number(path, "grading.rtol", g.get("rtol", 1e-5)),
                _number(path, "grading.atol", g.get("atol", 1e-8)), tests, tuple(hidden), bool(lines),
                str(g.get("variants", "")), _number(path, "limits.time", lim.get("time", 10.0)),
                int(_number(path, "limits.memory_mb", lim.get("memory_mb", 512))),
                int(_number(path, "limits.output_kb", lim.get("output_kb", 1024))))

    if spec.variants and (spec.kind != "numpy" or spec.variants not in VARIANT_SETS):
        _fail(path, f"grading.variants names a NumPy exercise's known-wrong set: {', '.join(VARIANT_SETS)}")
    if not 1 <= spec.n_points <= 20:
        _fail(path, "grading.samples (points sampled per student) must be from 1 to 20")
    if not 0 < spec.time <= 3600 or not 16 <= spec.memory_mb <= 65536:
        _fail(path, "limits.time must be in (0, 3600] s and limits.memory_mb in [16, 65536]")
    return spec
