"""Time derivation sheets: one sheet, and a class set of 200 variants split one PDF per student.

python benchmarks/sheets.py [--variants 200] [--repeat 3]

Measures, for each of the five sheets of issue 16 (the notes' f(x, y), the sigmoid neuron,
log(1 + exp(x*y)) * tanh(x - y), a two-layer NumPy loss, a batchnorm layer):
- ``derive sheet ... --key`` end to end as a user runs it (a fresh process, imports included),
  best of --repeat, with the CPU seconds it used (its own and its workers': what the machine's
  load does not change much): with an empty disk cache (the first use on a machine: the fonts'
  metrics and subsets made too), with a cache holding only the fonts (a function never seen:
  everything computed and drawn), and the same command again (answered by the request cache,
  ``derive.sheets.request``, without importing SymPy); and the never-seen function again with a
  sheet server running (``derive.cli.server``: the command is drawn by a warm process's child);
  every other fresh process runs with ``DERIVE_SERVER=0``;
- the same sheet in a running process (a notebook: derive imported, the disk cache off, best of --repeat): drawn first in the process, drawn after another sheet (the
  notes' f(x, y); for that sheet itself, the neuron's), and drawn again;
- the floor of a fresh process: Python importing SymPy and NumPy, and derive's sheet path;
and, for the scalar functions, ``derive sheet EXPR --variants N --split`` end to end with the
breakdown in-process: drawing the points, building the sheets, then the PDFs (written on both
cores). Prints Markdown tables.
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.test_sheet_geometry import BATCHNORM, BATCHNORM_AT, LOGEXP, LOSS_AT  # noqa: E402

FXY = "(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)"
NEURON = ("import math\n\ndef neuron(w, x):\n    dot = w[0]*x[0] + w[1]*x[1] + w[2]\n"
          "    return 1.0 / (1 + math.exp(-dot))\n")


def cases(tmp):
    from derive.symbolic.jacobians import SHEET

    files = {"neuron.py": NEURON, "loss.py": "import numpy as np\n\n" + SHEET, "bn.py": BATCHNORM}
    for name, text in files.items():
        with open(os.path.join(tmp, name), "w") as fh:
            fh.write(text)
    return [("f(x, y) of the notes", FXY, "x=3,y=-4", {"x": 3, "y": -4}),
            ("sigmoid neuron", "neuron.py:neuron", "w=[2,-3,-3],x=[-1,-2]",
             {"w": [2, -3, -3], "x": [-1, -2]}),
            ("log(1 + exp(x*y)) * tanh(x - y)", LOGEXP, "x=1,y=-0.5", {"x": 1, "y": -0.5}),
            ("two-layer loss (NumPy)", "loss.py:loss", _at(LOSS_AT), LOSS_AT),
            ("batchnorm (NumPy)", "bn.py:batchnorm", _at(BATCHNORM_AT), BATCHNORM_AT)]


def _at(point):
    return ",".join(f"{k}={v}".replace(" ", "") for k, v in point.items())


def cli(tmp, *args, cache=None, fonts=None, served=None):
    """Wall and CPU seconds of ``derive sheet ARGS`` in a fresh process (``cache``: the disk
    cache's folder, default an empty one; see ``fresh``). ``served``: the runtime folder of a
    running sheet server that draws it; else no server is used or started."""
    return fresh(tmp, "-m", "derive", "sheet", *args, cache=cache, fonts=fonts, served=served)


def fresh(cwd, *args, cache=None, fonts=None, served=None):
    """Wall and CPU seconds of ``python ARGS`` in a fresh process; ``cache``: the disk cache's
    folder (default an empty one, or a copy of ``fonts``: one holding only the fonts' entries).
    CPU seconds are the client's alone when ``served`` (the server's child is not ours)."""
    if cache is None:
        cache = tempfile.mkdtemp(dir=cwd)
        if fonts:
            shutil.copytree(fonts, cache, dirs_exist_ok=True)
    env = dict(os.environ, PYTHONPATH=ROOT, DERIVE_CACHE="1", DERIVE_CACHE_DIR=cache,
               DERIVE_SERVER="1" if served else "0")
    if served:
        env["XDG_RUNTIME_DIR"] = served
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if r.returncode:
        raise SystemExit(r.stderr.strip())
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def best(runs):
    """The fastest of (wall, cpu) runs."""
    return min(runs)


RUNNING = """
import json, os, sys, time
os.environ["DERIVE_CACHE"] = "0"
from derive import sheet
from derive.cli.commands._source import load_target

target, point, before, before_at = json.loads(sys.argv[1])
prog = load_target(target, "grouped")
out = []
if before:
    sheet(load_target(before, "grouped"), at=before_at, path="before.pdf", key=True)
for _ in range(2):
    t = time.perf_counter()
    sheet(prog, at=point, path="running.pdf", key=True)
    out.append(time.perf_counter() - t)
print(json.dumps(out))
"""


def running(target, point, tmp, repeat, before=None):
    """Seconds of ``derive.sheet`` in a running process (derive imported, the disk cache
    off), best of ``repeat`` processes: the first drawing of the sheet and the second. With
    ``before`` ((target, point)): another sheet is drawn first."""
    import json

    runs = []
    for _ in range(repeat):
        arg = json.dumps([target, point, *(before or (None, None))])
        r = subprocess.run([sys.executable, "-c", RUNNING, arg], cwd=tmp, capture_output=True,
                           text=True, env=dict(os.environ, PYTHONPATH=ROOT))
        if r.returncode:
            raise SystemExit(r.stderr.strip())
        runs.append(json.loads(r.stdout))
    return min(x[0] for x in runs), min(x[1] for x in runs)


def start_server(tmp, fonts):
    """A sheet server in a runtime folder of its own: (the folder, its process), killed at exit."""
    import atexit
    import socket

    run = tempfile.mkdtemp(dir=tmp)
    env = dict(os.environ, PYTHONPATH=ROOT, XDG_RUNTIME_DIR=run, DERIVE_SERVER="1",
               DERIVE_CACHE_DIR=fonts)
    proc = subprocess.Popen([sys.executable, "-m", "derive.cli.server", "900"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    atexit.register(proc.kill)
    end = time.monotonic() + 120
    while time.monotonic() < end:
        for name in os.listdir(os.path.join(run, "derive")) if os.path.isdir(os.path.join(run, "derive")) else ():
            if name.endswith(".sock"):
                with socket.socket(socket.AF_UNIX) as s:
                    try:
                        s.connect(os.path.join(run, "derive", name))
                        return run, proc
                    except OSError:
                        pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the sheet server did not start")


def class_set(expr, n, tmp):
    from derive import stage
    from derive.sheets.sheet import render_each, sheets_for, variant_points

    os.environ["DERIVE_CACHE"] = "0"
    prog = stage(expr)
    t0 = time.perf_counter()
    variant_points(prog, n, 0)
    t1 = time.perf_counter()
    sheets = sheets_for(prog, variants=n)
    t2 = time.perf_counter()
    render_each(sheets)
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start\n")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DERIVE_CACHE_DIR"] = os.path.join(tmp, "warm-cache")
        floor = best([fresh(tmp, "-c", "import sympy, numpy") for _ in range(args.repeat)])
        imp = best([fresh(tmp, "-c", "import derive.sheets.sheet") for _ in range(args.repeat)])
        fonts = tempfile.mkdtemp(dir=tmp)      # a cache holding the fonts' metrics and subsets only
        fresh(tmp, "-c", "from derive.sheets.pages import warm; warm()", cache=fonts)
        served, server = start_server(tmp, fonts)
        print("| sheet | fresh process, first use on the machine: wall s (CPU s) | fresh process, "
              "function never seen: wall s (CPU s) | the same, sheet server running: wall s "
              "(client's CPU s) | fresh process, asked again: wall s (CPU s) | "
              "running process, first sheet s | running process, after another sheet s | "
              "running process, again s | pages |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        print(f"| (Python importing SymPy and NumPy) | {floor[0]:.2f} ({floor[1]:.2f}) | | | | | | | |")
        print(f"| (Python importing derive.sheets.sheet: what drawing needs) | {imp[0]:.2f} ({imp[1]:.2f}) "
              "| | | | | | | |")
        all_cases = cases(tmp)
        for title, target, at, point in all_cases:
            out = os.path.join(tmp, "one.pdf")
            run = (target, "--at", at, "--key", "-o", out)
            empty = best([cli(tmp, *run) for _ in range(args.repeat)])
            cold = best([cli(tmp, *run, fonts=fonts) for _ in range(args.repeat)])
            srv = best([cli(tmp, *run, fonts=fonts, served=served) for _ in range(args.repeat)])
            kept = tempfile.mkdtemp(dir=tmp)
            cli(tmp, *run, cache=kept)
            hit = best([cli(tmp, *run, cache=kept) for _ in range(args.repeat)])
            import pypdf

            pages = len(pypdf.PdfReader(out).pages)
            first, again = running(target, point, tmp, args.repeat)
            other = all_cases[1] if target == all_cases[0][1] else all_cases[0]
            after, _ = running(target, point, tmp, args.repeat, (other[1], other[3]))
            print(f"| {title} | {empty[0]:.2f} ({empty[1]:.2f}) | {cold[0]:.2f} ({cold[1]:.2f}) | "
                  f"{srv[0]:.2f} ({srv[1]:.2f}) | {hit[0]:.2f} ({hit[1]:.2f}) | "
                  f"{first:.2f} | {after:.2f} | {again:.2f} | {pages} |")
        print()
        print(f"| class set, {args.variants} students | `--variants {args.variants} --split`: wall s "
              "| CPU s | points s | sheets s (points again included) | PDFs s | files |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for title, target, _, _ in cases(tmp)[:3]:
            if target.endswith(":neuron"):
                continue
            folder = tempfile.mkdtemp(dir=tmp)
            dt, cpu = cli(folder, target, "--variants", str(args.variants), "--split", "-o", "class.pdf")
            files = len([n for n in os.listdir(folder) if n.endswith(".pdf")])
            pts, build, pdfs = class_set(target, args.variants, tmp)
            print(f"| {title} | {dt:.1f} | {cpu:.1f} | {pts:.1f} | {build:.1f} | {pdfs:.1f} | {files} |")
        server.kill()
    print(f"\n{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
