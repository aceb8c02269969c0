"""Time a 200-student course run: grade + gradebook + class report, 2 workers.

python benchmarks/grade_200.py [EXERCISE]

The class is an LMS download (subs/<id>/submission.py) with a roster: a mix of correct
submissions and the known-wrong variants of tests/submissions.py, each graded in its own
sandboxed process. Prints the wall time of `derive grade ... --roster --csv -o` and of
`derive report`, and of a rerun that finds every file unchanged.
"""
import os
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
        raise SystemExit(r.stderr)
    return time.perf_counter() - t


def main(n=200, workers=2, exercise="staged_fxy"):
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
        res, csv_path = os.path.join(tmp, "results.json"), os.path.join(tmp, "grades.csv")
        grade = ["grade", exercise, subs, "--roster", os.path.join(tmp, "roster.csv"), "-o", res,
                 "--csv", csv_path, "--workers", str(workers), "--quiet"]
        t_grade = _run(grade)
        t_report = _run(["report", res, "-o", os.path.join(tmp, "report.html")])
        t_rerun = _run(grade)
    print(f"{n} submissions of {exercise}, {workers} workers: grading {t_grade:.1f} s "
          f"({1000 * t_grade / n:.0f} ms each), class report {t_report:.1f} s, "
          f"total {t_grade + t_report:.1f} s; rerun with nothing changed {t_rerun:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(exercise=sys.argv[1] if len(sys.argv) > 1 else "staged_fxy"))
