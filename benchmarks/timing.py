"""Timing helpers: calls per sample calibrated to a target duration, medians with min-max."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """How long to measure: per eval sample, samples, production repeats, SymPy time cap, batch."""

    sample_s: float = 0.002   # short samples: on a shared machine most of them see no preemption
    samples: int = 41
    production_repeats: int = 5
    cap_s: float = 30.0
    submissions: int = 100   # grading batch size


QUICK = Budget(sample_s=0.001, samples=7, production_repeats=1, cap_s=4.0, submissions=4)
FULL = Budget()


def summary(values) -> dict:
    """Median, min and max of a list of seconds (and how many)."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def _loop(fn, args, loops):
    t0 = time.perf_counter()
    for _ in range(loops):
        fn(*args)
    return time.perf_counter() - t0


def _calibrate(fn, args, budget):
    fn(*args)  # warm up (JIT compilation, caches)
    loops = 1
    while True:
        t = _loop(fn, args, loops)
        if t >= budget.sample_s / 4 or loops >= 10**6:
            break
        loops *= 4
    return max(1, round(loops * budget.sample_s / max(t, 1e-9)))


def per_call(fn, args, budget: Budget) -> dict:
    """Seconds per call of ``fn(*args)``: samples of many calls each, median and min-max."""
    return interleaved({"fn": (fn, args)}, budget)["fn"]


def interleaved(candidates: dict, budget: Budget) -> dict:
    """Seconds per call of each ``name: (fn, args)``, sampled round-robin.

    Each round takes one sample of every candidate, so a burst of load from other processes
    on a shared machine falls on all of them alike rather than on one: ratios stay honest.
    """
    loops = {name: _calibrate(fn, args, budget) for name, (fn, args) in candidates.items()}
    samples = {name: [] for name in candidates}
    for _ in range(budget.samples):
        for name, (fn, args) in candidates.items():
            samples[name].append(_loop(fn, args, loops[name]) / loops[name])
    out = {}
    for name in candidates:
        out[name] = summary(samples[name])
        out[name]["loops"] = loops[name]
    return out


def once(fn, *args):
    """(result, seconds) of one call."""
    t0 = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - t0
