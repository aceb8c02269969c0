"""Notebook tests (nbval): let the kernel import derive from this checkout without installing it.

nbval starts each kernel in ``notebooks/`` with the environment of the pytest process, so
putting the repository root on PYTHONPATH here is enough (an installed derive works as well).
"""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in [ROOT, os.environ.get("PYTHONPATH")] if p)
