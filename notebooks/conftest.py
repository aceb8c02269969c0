"""Notebook tests (nbval): let the kernel import derive from this checkout without installing it.

nbval starts each kernel in ``notebooks/`` with the environment of the pytest process, so
putting the repository root on PYTHONPATH here is enough (an installed derive works as well).
"""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in [ROOT, os.environ.get("PYTHONPATH")] if p)

# the course's exercise directories (and the solutions build's link to them) are not notebooks to run
collect_ignore = ["exercises", os.path.join("solutions", "exercises")]
