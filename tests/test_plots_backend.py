"""derive's plots never switch the caller's matplotlib backend (a notebook's inline one)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def backend_after_plot(setup: str, mplbackend=None) -> str:
    code = (f"{setup}\nimport matplotlib\nfrom derive.symbolic.compare import swell\n"
            "swell('product', 3, budget=20, min_n=2).plot()\nprint(matplotlib.get_backend())")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["PYTHONPATH"] = ROOT
    if mplbackend:
        env["MPLBACKEND"] = mplbackend
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().lower()


def test_a_backend_already_in_use_is_kept():
    setup = "import matplotlib\nmatplotlib.use('svg')\nimport matplotlib.pyplot"
    assert backend_after_plot(setup) == "svg"


def test_a_backend_chosen_by_the_environment_is_kept():
    assert backend_after_plot("", mplbackend="pdf") == "pdf"


def test_headless_default_is_agg():
    assert backend_after_plot("") == "agg"
