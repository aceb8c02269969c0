"""Time a 200-student course run (grade + gradebook + class report, 2 workers); and what
isolation costs per submission.

python benchmarks/grade_200.py [EXERCISE] [--layers auto,none] [-n 200]

The class is an LMS download (subs/<id>/submission.py) with a roster: a mix of correct
submissions and the known-wrong variants of tests/submissions.py, each graded in its own
sandboxed process. For each ``--isolation`` layer asked for (default: auto, the one `derive
grade` uses) it prints the wall time of `derive grade ... --roster --csv -o`, of `derive report`
and of a rerun that finds every file unchanged; then the mean time of one sandboxed run
(``run_submission``, one after another) under each layer that works here, and the overhead of
each over ``none`` (no kernel layer).
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


def _run(args):
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "derive", *args], cwd=ROOT, capture_output=True, text=True)
    if r.returncode:
        print(r.stderr.strip())
        return None, r.stderr
    return time.perf_counter() - t, r.stderr


def batch(n, workers, exercise, layer):
    kinds = [CORRECT[exercise]] + [src for _, src in WRONG[exercise]]
    with tempfile.TemporaryDirectory() as tmp:
        subs = os.path.join(tmp, "subs")
        with open(os.path.join(tmp, "roster.csv"), "w") as fh:
            fh.write("id,name,email\n")
            for i in range(n):
                sid = f"s{i:03d}"
                fh.write(f"{sid},Student {i},{sid}@uni.edu\n")
                os.makedirs(os.path.join(subs, sid))
                with open(os.path.join(subs, sid, "submission.py"), "w") as out:
                    out.write(kinds[i % len(kinds)])
        res = os.path.join(tmp, "results.json")
        grade = ["grade", exercise, subs, "--roster", os.path.join(tmp, "roster.csv"), "-o", res,
                 "--csv", os.path.join(tmp, "grades.csv"), "--workers", str(workers), "--quiet",
                 "--isolation", layer]
        t_grade, err = _run(grade)
        if t_grade is None:
            return None
        t_report, _ = _run(["report", res, "-o", os.path.join(tmp, "report.html")])
        t_rerun, _ = _run(grade)
    print(f"{n} submissions of {exercise}, {workers} workers, --isolation {layer}: grading "
          f"{t_grade:.1f} s ({1000 * t_grade / n:.0f} ms each), class report {t_report:.1f} s, "
          f"total {t_grade + t_report:.1f} s; rerun with nothing changed {t_rerun:.1f} s; {err.strip()}")
    return t_grade + t_report


def overhead(exercise, runs=20):
    """Mean wall time of one run_submission per layer, sequential; and each layer minus none."""
    from derive.teach.grading import isolation
    from derive.core.errors import DeriveError
    from derive.teach.grading.sandbox import Limits, run_submission
    from derive.teach.exercises import get

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
