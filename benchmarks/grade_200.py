"""Time `derive grade` on 200 submissions, 2 workers (python benchmarks/grade_200.py [EXERCISE]).

The class: 200 staged_fxy submissions, a mix of correct ones and the known-wrong variants of
tests/submissions.py (each in its own sandboxed process). Prints the wall time of the CLI run.
"""
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tests.submissions import CORRECT, WRONG  # noqa: E402


def main(n=200, workers=2, exercise="staged_fxy"):
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
                            "--workers", str(workers), "--quiet"], cwd=ROOT, capture_output=True, text=True)
        dt = time.perf_counter() - t
        if r.returncode:
            print(r.stderr)
            return 1
    print(f"{n} submissions of {exercise}, {workers} workers: {dt:.1f} s "
          f"({1000 * dt / n:.0f} ms per submission)")
    return 0


if __name__ == "__main__":
    sys.exit(main(exercise=sys.argv[1] if len(sys.argv) > 1 else "staged_fxy"))
