"""Time `derive grade` on 200 submissions, 2 workers; and what isolation costs per submission.

python benchmarks/grade_200.py [EXERCISE] [--layers auto,none]

The class: 200 staged_fxy submissions, a mix of correct ones and the known-wrong variants of
tests/submissions.py (each in its own sandboxed process). Prints the wall time of the CLI run
for each ``--isolation`` layer asked for (default: auto, the one `derive grade` uses), then the
mean time of one sandboxed run (``run_submission``, one after another) under each layer that
works here, and the overhead of each over ``none`` (no kernel layer).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tests.submissions import CORRECT, WRONG  # noqa: E402


def batch(n, workers, exercise, layer):
    kinds = [CORRECT[exercise]] + [src for _, src in WRONG[exercise]]
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(n):
            path = os.path.join(tmp, f"student{i:03d}.py")
            with open(path, "w") as fh:
                fh.write(kinds[i % len(kinds)])
            paths.append(path)
        out = os.path.join(tmp, "results.json")
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "derive", "grade", exercise, *paths, "-o", out,
                            "--workers", str(workers), "--quiet", "--isolation", layer],
                           cwd=ROOT, capture_output=True, text=True)
        dt = time.perf_counter() - t
    if r.returncode:
        print(r.stderr.strip())
        return None
    print(f"{n} submissions of {exercise}, {workers} workers, --isolation {layer}: {dt:.1f} s "
          f"({1000 * dt / n:.0f} ms per submission); {r.stderr.strip()}")
    return dt


def overhead(exercise, runs=20):
    """Mean wall time of one run_submission per layer, sequential; and each layer minus none."""
    from derive import isolation
    from derive.errors import DeriveError
    from derive.sandbox import Limits, run_submission
    from derive.exercises import get

    ex = get(exercise)
    points = [{k: {"array": v.tolist()} if hasattr(v, "tolist") and getattr(v, "ndim", 0) else float(v)
               for k, v in p.items()} for p in ex.points(0, "bench")]
    means = {}
    for layer in ("none", "landlock", "bwrap"):
        try:
            isolation.plan(layer)
        except DeriveError as err:
            print(f"{layer}: not measured ({err})")
            continue
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            report = run_submission(CORRECT[exercise], "s.py", "backward", ex.params, points,
                                    Limits(isolation=layer))
            times.append(time.perf_counter() - t)
            assert report["error"] is None, report
        means[layer] = statistics.median(times)
    for layer, m in means.items():
        extra = f", +{1000 * (m - means['none']):.0f} ms over none" if layer != "none" else ""
        print(f"one submission under {layer}: {1000 * m:.0f} ms (median of {runs}){extra}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("exercise", nargs="?", default="staged_fxy")
    ap.add_argument("--layers", default="auto")
    ap.add_argument("-n", type=int, default=200)
    args = ap.parse_args()
    os.environ["PYTHONPATH"] = ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")
    for layer in args.layers.split(","):
        batch(args.n, 2, args.exercise, layer)
    overhead(args.exercise)
    return 0


if __name__ == "__main__":
    sys.exit(main())
