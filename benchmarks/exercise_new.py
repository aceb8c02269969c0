"""Time `derive exercise new FILE.py:FUNC -o DIR` (the whole CLI run): python benchmarks/exercise_new.py

A scalar function and a NumPy one, three runs each; prints wall and CPU seconds of each run
(the CPU time is nearly all Python importing derive and SymPy).
"""
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = {
    "scalar": ("import math\n\n\ndef loss(x, y, z):\n    q = x * y\n    s = math.sin(q) + z**3\n"
               "    return s / (1 + z * z)\n", "loss", "x=1,y=2,z=0.5"),
    "numpy": ("import numpy as np\n\n\ndef layer(W, x):\n    h = np.tanh(W @ x)\n    return np.sum(h * h)\n",
              "layer", "W=[[1,0.5],[0,-1],[2,1]],x=[1,-2]"),
}


def main():
    env = {**os.environ, "PYTHONPATH": ROOT}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, (src, func, at) in CASES.items():
            path = os.path.join(tmp, f"{kind}.py")
            with open(path, "w") as fh:
                fh.write(src)
            for i in range(3):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t = time.perf_counter()
                r = subprocess.run([sys.executable, "-m", "derive", "exercise", "new", f"{path}:{func}",
                                    "-o", os.path.join(tmp, f"{kind}{i}"), "--at", at],
                                   env=env, capture_output=True, text=True)
                wall = time.perf_counter() - t
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
                if r.returncode:
                    raise SystemExit(r.stderr)
                print(f"derive exercise new ({kind}): {wall:.2f} s wall, {cpu:.2f} s CPU")
    print(f"load average: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
