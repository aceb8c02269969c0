"""Build the course notebooks from their sources in this folder: the learner's and the solutions.

Usage (from the repository root):
    python notebooks/src/build.py            # every notebook, both builds, executed
    python notebooks/src/build.py 03 04      # the ones whose name starts so

Each source ``NN_name.py`` calls ``md(text)``, ``code(text, check=False, reveal=False)`` and
``graded(text)`` in order; ``check=True`` marks a cell ``# NBVAL_CHECK_OUTPUT`` (its printed numbers
are the lesson). ``reveal=True`` marks the answers to predict-then-run questions: the learner's build
ships that cell without its output (run it after predicting), the solutions build with it.
A graded cell is one the learner completes: the lines between ``# BEGIN SOLUTION`` and
``# END SOLUTION`` are the answer. The learner's build (``notebooks/NN-name.ipynb``) replaces them
with ``raise NotImplementedError``, so its check says "not attempted"; the solutions build
(``notebooks/solutions/NN-name.ipynb``) keeps them, so its check says "all correct". Both are
executed in a fresh kernel with their outputs, and both run in the test suite (nbval).
"""
import glob
import os
import re
import runpy
import sys
import textwrap
import time

import nbformat

HERE = os.path.dirname(os.path.abspath(__file__))
NOTEBOOKS = os.path.dirname(HERE)
ROOT = os.path.dirname(NOTEBOOKS)
SOLUTIONS = os.path.join(NOTEBOOKS, "solutions")
MARK = "# NBVAL_CHECK_OUTPUT"
GRADED = "graded"
REVEAL = "reveal"
BLOCK = re.compile(r"^([ \t]*)# BEGIN SOLUTION\n.*?^[ \t]*# END SOLUTION\n", re.M | re.S)
MARKER = re.compile(r"^[ \t]*# (BEGIN|END) SOLUTION\n", re.M)


def learner_text(src):
    """The cell as the learner gets it: each solution block becomes a NotImplementedError."""
    return BLOCK.sub(lambda m: f"{m[1]}# your code here\n{m[1]}raise NotImplementedError\n", src + "\n")[:-1]


def solution_text(src):
    """The cell with its solution filled in (the markers dropped)."""
    return MARKER.sub("", src + "\n")[:-1]


def cells(path, solution=False):
    """The cells of the notebook built from source ``path`` (not executed)."""
    out = []

    def md(text):
        out.append(nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip("\n")))

    def code(text, check=False, reveal=False):
        src = textwrap.dedent(text).strip("\n")
        if reveal and not solution:  # the learner runs it after predicting: no output, not compared
            cell = nbformat.v4.new_code_cell(src)
            cell.metadata["tags"] = [REVEAL]
        else:
            cell = nbformat.v4.new_code_cell(MARK + "\n" + src if check else src)
        out.append(cell)

    def graded(text):
        src = textwrap.dedent(text).strip("\n")
        if not BLOCK.search(src + "\n"):
            raise ValueError(f"{path}: a graded cell without # BEGIN SOLUTION ... # END SOLUTION")
        src = solution_text(src) if solution else learner_text(src)
        cell = nbformat.v4.new_code_cell(MARK + "\n" + src)
        cell.metadata["tags"] = [GRADED]
        out.append(cell)

    runpy.run_path(path, init_globals={"md": md, "code": code, "graded": graded})
    for k, cell in enumerate(out):
        cell["id"] = f"cell-{k:02d}"  # stable ids: rebuilding gives a clean diff
    return out


def name_of(path):
    return os.path.basename(path)[:-3].replace("_", "-") + ".ipynb"


def sources():
    return sorted(glob.glob(os.path.join(HERE, "[0-9][0-9]_*.py")))


def output_path(path, solution=False):
    return os.path.join(SOLUTIONS if solution else NOTEBOOKS, name_of(path))


def build(path, solution=False):
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = cells(path, solution)
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                  "language": "python"},
                   "language_info": {"name": "python"}}
    out = output_path(path, solution)
    os.environ["PYTHONPATH"] = os.environ.get("DERIVE_ROOT", ROOT)  # a checkout to build against
    start = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": os.path.dirname(out)}}).execute()
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:  # answer cells ship without their output in the learner's build
        if REVEAL in cell.get("metadata", {}).get("tags", []):
            cell["outputs"] = []
    nbformat.validate(nb)
    nbformat.write(nb, out)
    print(f"{os.path.relpath(out, ROOT)}: {len(nb.cells)} cells, {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    wanted = sys.argv[1:]
    for path in sources():
        if not wanted or any(os.path.basename(path).startswith(w) for w in wanted):
            build(path)
            build(path, solution=True)
