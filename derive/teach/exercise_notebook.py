"""An exercise's notebook template (template.ipynb): its README, its template.py, a check cell."""
from __future__ import annotations

import json
import os

from derive.teach.exercise_spec import BUILTIN


def _cell(kind, text, ident):
    cell = {"cell_type": kind, "id": ident, "metadata": {}, "source": text.rstrip("\n").splitlines(True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def notebook_of(directory: str, name: str | None = None) -> dict:
    """The notebook built from ``directory``'s README.md and template.py."""
    name = name or os.path.basename(os.path.abspath(directory))
    with open(os.path.join(directory, "README.md"), encoding="utf-8") as fh:
        spec = fh.read()
    with open(os.path.join(directory, "template.py"), encoding="utf-8") as fh:
        code = fh.read()
    if name in BUILTIN:
        where, hint = name, f'my_values("{name}", "<your id>")'
    else:  # opened from the exercise's folder, which holds exercise.toml
        where, hint = ".", 'my_values(".", "<your id>") (run from the exercise folder)'
    check = (f"# Run this cell for instant feedback (your own values: {hint})\n"
             f"from derive.exercises import check, my_values\ncheck(\"{where}\", backward)\n")
    cells = [_cell("markdown", spec, "spec"), _cell("code", code, "template"), _cell("code", check, "check")]
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                        "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


def write_notebook(directory: str, name: str | None = None) -> str:
    path = os.path.join(directory, "template.ipynb")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(notebook_of(directory, name), fh, indent=1)
        fh.write("\n")
    return path
