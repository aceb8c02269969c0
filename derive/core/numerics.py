"""The namespaces printed programs run in, built from the rows of ``derive.rules``.

The same printed code is evaluated with ``math`` (fast float64), ``numpy`` (many points at
once) or ``mpmath`` (50 digits, then rounded: the correctly rounded values the CS231n notes
print); printed array programs run in ``ARRAY_NS`` (``np`` plus derive's own functions);
``LAMBDIFY_NS`` lets SymPy's ``lambdify`` call derive's gates. Each name comes from a row, so
a gate added with ``derive.rules.register`` is found at once.
"""
from __future__ import annotations

import math

import numpy as np

from derive.core import primitives
from derive.core.rules import ARRAY_RULES, HELPERS, RULES, derived

_HELPERS = {name: getattr(primitives, name) for name in HELPERS}


def _called():
    return [r for r in RULES.values() if r.called]


#: Name -> function for evaluating printed programs with floats.
MATH_NS = derived(lambda: dict(_HELPERS, **{r.pyname: r.impl[0] for r in _called()}))

#: ... with NumPy arrays (many points at once; domain errors give nan).
NUMPY_NS = derived(lambda: dict(_HELPERS, **{r.pyname: r.impl[1] for r in _called()}))

#: ... with mpmath numbers at high precision.
MPMATH_NS = derived(lambda: dict(_HELPERS, **{r.pyname: r.impl[2] for r in _called()}))

NAMESPACES = {"math": MATH_NS, "numpy": NUMPY_NS, "mpmath": MPMATH_NS}


def _bare_numpy(r) -> bool:
    """Does the row's NumPy spelling call a bare name (``sigmoid(x)``, not ``np.tanh(x)``)?"""
    spelling = r.numpy or r.pyname
    return "{" not in spelling and "." not in spelling


def array_imports() -> list:
    """Names that printed array programs import from ``derive.core.primitives``, in table order."""
    names = [r.pyname for r in _called() if _bare_numpy(r)] + ["softmax"]
    return names + [c for r in ARRAY_RULES.values() if r.impl is not None for c in r.calls if "." not in c]


def python_imports() -> list:
    """The import lines of a printed scalar program (``from math import exp, ...``)."""
    from_math = [r.pyname for r in _called() if getattr(math, r.pyname, None) is r.impl[0]]
    builtin = [r.pyname for r in _called() if r.pyname in ("abs", "max", "min")]
    ours = [r.pyname for r in _called() if r.pyname not in from_math + builtin] + list(HELPERS)
    return [f"from math import {', '.join(from_math)}", f"from derive.core.primitives import {', '.join(ours)}"]


def _array_ns():
    ns = {"np": np, "softmax": primitives.softmax}
    ns.update({r.pyname: r.impl[1] for r in _called() if _bare_numpy(r)})
    ns.update({c: r.impl for r in ARRAY_RULES.values() if r.impl is not None for c in r.calls if "." not in c})
    return ns


#: What printed array programs run in (``import numpy as np`` plus derive's functions).
ARRAY_NS = derived(_array_ns)


def _lambdify_ns():
    ns = {"Heaviside": lambda z, h0=0.5: primitives.heaviside(z, h0), "sign": primitives.sign}
    for r in _called():
        for t in r.sympy_types:
            if not t.__module__.startswith("sympy"):   # SymPy's own functions lambdify already
                ns[t.__name__] = r.impl[0]
    return ns


#: Names for SymPy's ``lambdify`` (with ``math``): derive's own SymPy classes -> float functions.
LAMBDIFY_NS = derived(_lambdify_ns)
