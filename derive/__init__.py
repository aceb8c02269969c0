"""derive: how gradients are computed, shown two ways (symbolic and staged backprop).

Public API: ``stage``, ``check``, the numeric primitives ``sigmoid`` and ``relu``.
"""

from derive.check import check
from derive.errors import DeriveError
from derive.primitives import relu, sigmoid
from derive.staged import BackLine, Line, Program, stage
from derive.vector import ArrayProgram, onehot, softmax, softmax_cross_entropy, stage_arrays
from derive import exercises  # noqa: E402  derive.exercises.check(name, backward): instant feedback

__all__ = ["stage", "check", "Program", "Line", "BackLine", "DeriveError", "sigmoid", "relu"]
__version__ = "0.1.0"
