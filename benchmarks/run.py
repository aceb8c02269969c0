"""derive against what a user would use instead, measured side by side in one run.

    python benchmarks/run.py [--quick] [--json out.json] [--plots DIR] [--families a,b]

(1) time to produce a gradient program, (2) time per gradient evaluation, (3) operation
counts, on the families of ``derive.families``; (4) one iris training step (vector case);
(5) grading throughput when the grader exists. Prints a table per measurement, checks the
issue's targets on this run's medians, writes everything as JSON and one plot per family.
Optional peers (autograd, jax, torch) that are not installed are skipped with a note.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import grading_bench, peers, report, scalar, scale, timing, vector_bench  # noqa: E402

SIZES = {"logistic": [2, 4, 6, 8, 10, 12, 14], "nested-sigmoid": [2, 4, 8, 16, 32, 64],
         "mlp": [1, 2, 3, 4, 6, 8], "product": [2, 4, 8, 16, 32, 64], "cs231n": [1, 2, 3, 4, 6, 8, 10]}
QUICK_SIZES = {"logistic": [2, 10], "nested-sigmoid": [2, 8], "mlp": [1, 3], "product": [2, 8],
               "cs231n": [1, 3]}
SCALE_SIZES, QUICK_SCALE_SIZES = [500, 1000, 2000, 4000], [200]   # benchmarks/scale.py's N
SLOW_CALL_S = 0.5   # a tape slower than this per call is not run at larger sizes


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {"python": platform.python_version(), "platform": platform.platform(), "cpu": cpu,
            "cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def versions() -> dict:
    from importlib import metadata

    import derive
    out = {"derive": derive.__version__}
    for name in ("sympy", "numpy", "matplotlib", "autograd", "jax", "torch"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def scalar_rows(sizes, budget, log):
    rows = []
    for family, ns in sizes.items():
        skip = {}
        for n in ns:
            t0 = time.perf_counter()
            row = scalar.measure(family, n, budget, dict(skip))
            rows.append(row)
            log(f"  {family} n={n}: {time.perf_counter() - t0:.1f} s")
            gave_up = row["status"].get("sympy", "")
            if gave_up.startswith(("gave up", "error")):
                skip.setdefault("sympy", f"skipped: {gave_up} at n={n}")
            for tape in scalar.TAPES:
                st = row["evaluation"].get(tape)
                if st and st["median"] > SLOW_CALL_S:
                    skip.setdefault(tape, f"skipped: over {SLOW_CALL_S} s per call at n={n}")
    return rows


def jax_pass(rows, budget, log):
    if peers.optional("jax") is None:
        for r in rows:
            r["status"]["jax"] = "skipped: jax is not installed"
        return
    slow = None
    for r in rows:
        if slow and slow[0] == r["family"]:
            r["status"]["jax"] = slow[1]
            continue
        t0 = time.perf_counter()
        out = scalar.jax_evaluation(r["family"], r["n"], budget)
        took = time.perf_counter() - t0
        if "status" in out:
            r["status"]["jax"] = out["status"]
        else:
            r["evaluation"]["jax"] = out
        if took > budget.cap_s:
            slow = (r["family"], f"skipped: compiling took {took:.0f} s at n={r['n']}")
        log(f"  jax {r['family']} n={r['n']}: {took:.1f} s")


def measure_all(sizes, quick, log) -> dict:
    budget = timing.QUICK if quick else timing.FULL
    start = time.perf_counter()
    result = {"mode": "quick" if quick else "full", "machine": machine(), "versions": versions(),
              "budget": dataclasses.asdict(budget)}
    log("scalar families (derive, lambdify, autograd, micrograd-style tape)")
    rows = scalar_rows(sizes, budget, log)
    log("vector: one iris training step")
    vec = vector_bench.measure(budget)
    log("grading throughput")
    grading = grading_bench.measure(budget)
    log("scale (benchmarks/scale.py)")
    scale_rows = [scale.measure(n) for n in (QUICK_SCALE_SIZES if quick else SCALE_SIZES)]
    log("jax (last: it starts threads, and the measurements above fork)")
    jax_pass(rows, budget, log)
    result.update(scalar=rows, vector=vec, grading=grading, scale=scale_rows)
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def summarise(result) -> None:
    """Ratios and targets from the measurements (so a saved JSON can be reported again)."""
    rows, vec = result["scalar"], result["vector"].get("timings", {})
    cap = result["budget"]["cap_s"]
    result["ratios"] = report.ratios(rows)
    result["targets"] = report.targets(rows, vec, cap_s=cap)


def show(result) -> None:
    m, v = result["machine"], result["versions"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['platform']}, Python {m['python']}; load average "
          f"{m['load_average_at_start'][0]} at start, {m['load_average_at_end'][0]} at end")
    print("versions: " + ", ".join(f"{k} {val}" for k, val in v.items()))
    for t in report.scalar_tables(result["scalar"]):
        print("\n" + t)
    print("\n" + vector_bench.table(result["vector"]))
    print("\n" + grading_bench.table(result["grading"]))
    print("\n" + report.scale_table(result["scale"]))
    print("\n" + report.target_table(result["targets"]))
    print(f"\n{result['mode']} run, {result['seconds']} s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, short samples (under two minutes)")
    ap.add_argument("--json", metavar="FILE", help="write every number to FILE")
    ap.add_argument("--plots", metavar="DIR", help="write one PNG per family to DIR")
    ap.add_argument("--markdown", metavar="FILE", help="write the headline ratios as a Markdown table")
    ap.add_argument("--families", help="comma-separated subset of: " + ", ".join(SIZES))
    ap.add_argument("--report", metavar="FILE", help="measure nothing: report a saved JSON again")
    args = ap.parse_args(argv)
    sizes = dict(QUICK_SIZES if args.quick else SIZES)
    if args.families:
        wanted = [f.strip() for f in args.families.split(",")]
        unknown = [f for f in wanted if f not in sizes]
        if unknown:
            ap.error(f"unknown family {unknown[0]}; known: {', '.join(sizes)}")
        sizes = {f: sizes[f] for f in wanted}
    if args.report:
        try:
            result = json.loads(Path(args.report).read_text())
            families = list(dict.fromkeys(r["family"] for r in result["scalar"]))
        except (OSError, ValueError, KeyError, TypeError) as err:
            ap.error(f"cannot read {args.report}: {type(err).__name__}")
    else:
        result = measure_all(sizes, args.quick, lambda msg: print(msg, file=sys.stderr, flush=True))
        families = list(sizes)
    summarise(result)
    show(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(report.headline(result["scalar"]) + "\n")
    if args.plots:
        out = Path(args.plots)
        out.mkdir(parents=True, exist_ok=True)
        for family in families:
            report.plot_family(result["scalar"], family, out / f"{family}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
