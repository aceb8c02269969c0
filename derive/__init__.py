"""derive: how gradients are computed, shown two ways (symbolic and staged backprop).

Public API: ``stage`` (scalars and NumPy arrays), ``check``, ``compare``, ``swell``,
``total_derivative``, the numeric primitives ``sigmoid``, ``relu``, ``softmax``, ``onehot``.

Each name is imported at its first use (PEP 562), so that ``import derive`` alone, and a
command answered from the request cache (``derive.sheets.request``), do not import SymPy.
"""
import importlib

_API = {"check": "derive.oracle.check", "compare": "derive.symbolic.compare",
        "swell": "derive.symbolic.compare", "total_derivative": "derive.symbolic.compare",
        "DeriveError": "derive.core.errors", "relu": "derive.core.primitives",
        "sigmoid": "derive.core.primitives", "sheet": "derive.sheets.sheet",
        "BackLine": "derive.staging.staged", "Line": "derive.staging.staged",
        "Program": "derive.staging.staged", "stage": "derive.staging.staged",
        "onehot": "derive.staging.arrays", "softmax": "derive.staging.arrays",
        "softmax_cross_entropy": "derive.staging.arrays", "stage_arrays": "derive.staging.arrays",
        "ArrayProgram": "derive.staging.arrays"}   # the old name of Program (deprecated)
_MODULES = {"exercises": "derive.exercises",   # derive.exercises.check(name, backward)
            "rules": "derive.core.rules",      # derive.rules.register(...): bring your own gate
            "baydin": "derive.symbolic.baydin", "examples": "derive.symbolic.examples",
            "families": "derive.symbolic.families", "jacobians": "derive.symbolic.jacobians",
            "iris": "derive.teach.iris"}

__all__ = ["stage", "check", "Program", "Line", "BackLine", "DeriveError", "sigmoid", "relu",
           "compare", "swell", "total_derivative", "ArrayProgram", "onehot", "softmax",
           "softmax_cross_entropy", "stage_arrays", "exercises", "sheet"]
__version__ = "0.1.0"


def __getattr__(name):
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
    elif name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    else:
        raise AttributeError(f"module 'derive' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_API) | set(_MODULES))
