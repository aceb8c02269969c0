"""derive: how gradients are computed, shown two ways (symbolic and staged backprop).

Public API: ``stage`` (scalars and NumPy arrays), ``check``, ``compare``, ``swell``,
``total_derivative``, the numeric primitives ``sigmoid``, ``relu``, ``softmax``, ``onehot``.
"""

from derive.check import check
from derive.compare import compare, swell, total_derivative
from derive.errors import DeriveError
from derive.primitives import relu, sigmoid
from derive.sheet import sheet
from derive.staged import BackLine, Line, Program, stage
from derive.vector import onehot, softmax, softmax_cross_entropy, stage_arrays
from derive.vector import ArrayProgram  # the old name of Program, kept for old code (deprecated)
from derive import exercises  # noqa: E402  derive.exercises.check(name, backward): instant feedback

__all__ = ["stage", "check", "Program", "Line", "BackLine", "DeriveError", "sigmoid", "relu",
           "compare", "swell", "total_derivative", "ArrayProgram", "onehot", "softmax",
           "softmax_cross_entropy", "stage_arrays", "exercises", "sheet"]
__version__ = "0.1.0"
