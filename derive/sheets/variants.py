"""Per-student values for sheets: points a class can work by hand, one per variant or roster row.

A point is worked by hand when its inputs are integers or one-decimal numbers and every
intermediate value and every adjoint is exactly 0 or has a moderate size (``--range LO,HI``,
by default 1e-2 <= |v| <= 1e2), and no kink is hit. ``variant_points`` draws them seeded
(``numpy.random.default_rng``); ``--at`` becomes variant 1; a roster gives each student the
point drawn from ``derive.teach.roster.student_seed`` of their id.
"""
from __future__ import annotations

import math

import numpy as np

from derive.core.errors import DeriveError
from derive.sheets.arrays import as_arrays

RANGE = (1e-2, 1e2)
MAX_VARIANTS = 500
TRIES = 400          # candidate points per wanted point before giving up


def parse_range(text: str | None) -> tuple:
    """``"0.01,100"`` -> (0.01, 100.0); one-line DeriveError otherwise."""
    if text is None:
        return RANGE
    parts = text.split(",")
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise DeriveError(f"--range '{text}' is not two numbers; write --range 0.01,100") from None
    if not (0 < lo < hi and math.isfinite(hi)):
        raise DeriveError(f"--range '{text}' needs 0 < LO < HI; write e.g. --range 0.01,100")
    return lo, hi


def _flat(values):
    for v in values:
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        else:
            yield from np.ravel(np.asarray(v, dtype=float))


def moderate(result, lo: float, hi: float, zeros: bool = True) -> bool:
    """Every value and adjoint of a run is 0 (if ``zeros``) or lo <= |v| <= hi, and no kink
    was hit."""
    if getattr(result, "notes", None):
        return False
    steps = getattr(result, "steps", None) or []
    for v in _flat(list(result.values.values()) + list(result.adjoints.values()) + list(steps)):
        a = abs(v)
        if not math.isfinite(a) or (a != 0 or not zeros) and not lo <= a <= hi:
            return False
    return True


def _draw(rng, params, decimals):
    def one():
        if decimals:
            v = 0.0
            while v == 0.0:
                v = round(float(rng.uniform(-3, 3)), 1)
            return v
        return int(rng.choice([-4, -3, -2, -1, 1, 2, 3, 4]))

    return {name: one() if size is None else [one() for _ in range(size)]
            for name, size in params}


def _points(prog, rng, decimals, lo, hi, seen):
    """Candidate points from one generator until one is worked by hand (or None)."""
    for k in range(TRIES):
        pt = _draw(rng, prog.params, decimals or k >= TRIES // 2)
        key = repr(pt)
        if key in seen:
            continue
        try:
            ok = moderate(prog.run(**pt), lo, hi, zeros=k >= TRIES // 4)   # zeros as a last resort
        except (DeriveError, ArithmeticError, ValueError):
            continue
        if ok:
            seen.add(key)
            return pt
    return None


def variant_points(prog, n: int, seed: int, around: dict | None = None, rng_range=RANGE,
                   first: dict | None = None, seeds: list | None = None) -> list:
    """N different points worked by hand, drawn with ``default_rng(seed)`` (or one point from
    ``default_rng(seeds[i])`` each, for a roster). ``first`` (``--at``) is variant 1 as given;
    integers are drawn unless ``around`` has non-integers, one-decimal numbers when integers
    do not give moderate values."""
    if n < 1 or n > MAX_VARIANTS:
        raise DeriveError(f"--variants must be between 1 and {MAX_VARIANTS}")
    lo, hi = rng_range
    decimals = any(not float(v).is_integer() for v in _flat((around or {}).values()))
    points, seen = [], set()
    if first is not None:
        prog.run(exact=True, **first)            # a one-line DeriveError if it is not a point
        points.append(first)
        seen.add(repr(first))
    gen = np.random.default_rng(seed)
    while len(points) < n:
        if seeds is not None:
            gen = np.random.default_rng(seeds[len(points)])
        pt = _points(prog, gen, decimals, lo, hi, seen)
        if pt is None:
            raise DeriveError(f"could not find {n} points where every value and adjoint is 0 or "
                              f"between {lo:g} and {hi:g} in size; widen --range (e.g. "
                              f"--range {lo / 100:g},{hi * 100:g}) or give fewer --variants")
        points.append(pt)
    return points


def array_variants(prog, point: dict, n: int, seed: int, rng_range=RANGE, first=False,
                   seeds: list | None = None) -> list:
    """N different integer points with the shapes of ``point`` (class labels kept as given),
    every value and adjoint moderate; ``first``: ``point`` itself is variant 1."""

    if n < 1 or n > MAX_VARIANTS:
        raise DeriveError(f"--variants must be between 1 and {MAX_VARIANTS}")
    lo, hi = rng_range
    base = as_arrays(prog, point)
    out, seen = ([point], {repr(point)}) if first else ([], set())
    if first:
        prog.run(**base)
    gen = np.random.default_rng(seed)
    while len(out) < n:
        if seeds is not None:
            gen = np.random.default_rng(seeds[len(out)])
        for _ in range(TRIES):
            pt = {p: (v if p in prog.labels else gen.integers(-2, 3, v.shape).astype(float))
                  for p, v in base.items()}
            listed = {k: v.tolist() for k, v in pt.items()}
            key = repr(listed)
            if key in seen:
                continue
            try:
                ok = moderate(prog.run(**pt), lo, hi)
            except (DeriveError, ArithmeticError, ValueError):
                continue
            if ok:
                seen.add(key)
                out.append(listed)
                break
        else:
            raise DeriveError(f"could not find {n} points where every value and adjoint is 0 or "
                              f"between {lo:g} and {hi:g} in size; widen --range or give fewer "
                              "--variants")
    return out
