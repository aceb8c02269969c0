"""Build each exercise directory's notebook template (template.ipynb) from README.md and template.py.

Run from the repository root: python exercises/make_notebooks.py [DIR ...] (tests check the
built-in ones match). ``derive exercise new`` writes the notebook of a new exercise the same way.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from derive.teach.exercise_notebook import notebook_of, write_notebook  # noqa: E402

NAMES = ("sigmoid_neuron", "staged_fxy", "total_derivative", "activations", "matmul", "two_layer",
         "two_layer_batch")


def notebook(name):
    """The notebook of built-in exercise ``name`` (or of an exercise directory)."""
    return notebook_of(os.path.join(HERE, name) if name in NAMES else name)


def main(argv=None):
    for name in argv or NAMES:
        write_notebook(os.path.join(HERE, name) if name in NAMES else name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
