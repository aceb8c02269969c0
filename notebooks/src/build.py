"""Build the course notebooks from their sources in this folder, and execute them in place.

Usage (from the repository root):
    /tmp/venv/bin/python notebooks/src/build.py            # every notebook
    /tmp/venv/bin/python notebooks/src/build.py 03 04      # the ones whose name starts so

Each source ``NN_name.py`` calls ``md(text)`` and ``code(text, check=False)`` in order;
``check=True`` marks a cell ``# NBVAL_CHECK_OUTPUT`` (its printed numbers are the lesson).
The result is ``notebooks/NN-name.ipynb``, executed in a fresh kernel with its outputs.
"""
import glob
import os
import runpy
import sys
import textwrap
import time

import nbformat
from nbclient import NotebookClient

HERE = os.path.dirname(os.path.abspath(__file__))
NOTEBOOKS = os.path.dirname(HERE)
ROOT = os.path.dirname(NOTEBOOKS)

CELLS = []


def md(text):
    CELLS.append(nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip("\n")))


def code(text, check=False):
    src = textwrap.dedent(text).strip("\n")
    if check:
        src = "# NBVAL_CHECK_OUTPUT\n" + src
    CELLS.append(nbformat.v4.new_code_cell(src))


def build(path):
    CELLS.clear()
    runpy.run_path(path, init_globals={"md": md, "code": code})
    nb = nbformat.v4.new_notebook()
    nb.cells = list(CELLS)
    for k, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{k:02d}"  # stable ids: rebuilding gives a clean diff
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                  "language": "python"},
                   "language_info": {"name": "python"}}
    name = os.path.basename(path)[:-3].replace("_", "-")
    out = os.path.join(NOTEBOOKS, name + ".ipynb")
    os.environ["PYTHONPATH"] = os.environ.get("DERIVE_ROOT", ROOT)  # a checkout to build against
    start = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": NOTEBOOKS}}).execute()
    nb.metadata.pop("widgets", None)
    nbformat.validate(nb)
    nbformat.write(nb, out)
    print(f"{os.path.relpath(out, ROOT)}: {len(nb.cells)} cells, {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    wanted = sys.argv[1:]
    for path in sorted(glob.glob(os.path.join(HERE, "[0-9][0-9]_*.py"))):
        if not wanted or any(os.path.basename(path).startswith(w) for w in wanted):
            build(path)
