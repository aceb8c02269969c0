"""Build each exercise's notebook template (NAME.ipynb) from NAME.md and NAME.py.

Run from the repository root: python exercises/make_notebooks.py (tests check they match).
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = ("sigmoid_neuron", "staged_fxy", "total_derivative", "activations", "matmul", "two_layer")


def _cell(kind, text, ident):
    cell = {"cell_type": kind, "id": ident, "metadata": {}, "source": text.rstrip("\n").splitlines(True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def notebook(name):
    with open(os.path.join(HERE, name + ".md"), encoding="utf-8") as fh:
        spec = fh.read()
    with open(os.path.join(HERE, name + ".py"), encoding="utf-8") as fh:
        code = fh.read()
    check = (f"# Run this cell for instant feedback (your own values: my_values(\"{name}\", \"<your id>\"))\n"
             f"from derive.exercises import check, my_values\ncheck(\"{name}\", backward)\n")
    cells = [_cell("markdown", spec, "spec"), _cell("code", code, "template"), _cell("code", check, "check")]
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                        "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


def main():
    for name in NAMES:
        with open(os.path.join(HERE, name + ".ipynb"), "w", encoding="utf-8") as fh:
            json.dump(notebook(name), fh, indent=1)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
