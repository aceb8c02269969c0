"""derive: how gradients are computed, shown two ways (symbolic and staged backprop).

Public API: ``stage`` (scalars and NumPy arrays), ``check``, ``compare``, ``swell``,
``total_derivative``, the numeric primitives ``sigmoid``, ``relu``, ``softmax``, ``onehot``.
"""

from derive.oracle.check import check
from derive.symbolic.compare import compare, swell, total_derivative
from derive.core.errors import DeriveError
from derive.core.primitives import relu, sigmoid
from derive.sheets.sheet import sheet
from derive.staging.staged import BackLine, Line, Program, stage
from derive.staging.arrays import onehot, softmax, softmax_cross_entropy, stage_arrays
from derive.staging.arrays import ArrayProgram  # the old name of Program, kept for old code (deprecated)
from derive import exercises  # noqa: E402  derive.exercises.check(name, backward): instant feedback

__all__ = ["stage", "check", "Program", "Line", "BackLine", "DeriveError", "sigmoid", "relu",
           "compare", "swell", "total_derivative", "ArrayProgram", "onehot", "softmax",
           "softmax_cross_entropy", "stage_arrays", "exercises", "sheet"]
__version__ = "0.1.0"
from derive.core import rules  # noqa: E402  derive.rules.register(...): bring your own gate
from derive.symbolic import baydin, examples, families, jacobians  # noqa: E402
from derive.teach import iris  # noqa: E402
