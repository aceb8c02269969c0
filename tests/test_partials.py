"""``partials``: every component's ``sympy.diff``, reusing a derivative where the function is
symmetric, gives exactly what ``sympy.diff`` gives and agrees with central differences."""
import numpy as np
import pytest
import sympy as sp

from derive import stage
from derive.symbolic import jacobians
from derive.symbolic.jacobians import central_differences, partials, symbolic_value
from derive.symbolic.jacobians import SHEET as TWO_LAYER
from tests.test_sheet_geometry import BATCHNORM, BATCHNORM_AT, LOSS_AT

DOT = "import numpy as np\n\ndef f(x, w):\n    return np.sum(x * w)\n"
ROWS = "import numpy as np\n\ndef f(x, W):\n    return np.sum(np.tanh(x @ W))\n"
ROWS_AT = {"x": [[1, -2], [0.5, 1], [2, 0]], "W": [[1, 0.5, -1], [0, 2, 1]]}


def _counted(monkeypatch):
    calls = []
    diff = sp.diff

    def spy(e, s):
        calls.append(s)
        return diff(e, s)

    monkeypatch.setattr(jacobians.sp, "diff", spy)
    return calls


@pytest.mark.parametrize("text, point, direct", [
    (BATCHNORM, BATCHNORM_AT, 3),                     # x's rows and features, gamma, beta lined up
    ("import numpy as np\n\n" + TWO_LAYER, LOSS_AT, 19),  # nothing symmetric: all 19
    (DOT, {"x": [1, -2, 3], "w": [0.5, 2, -1]}, 2),   # x_0, w_0; the rest: x and w exchanged together
    (ROWS, ROWS_AT, 4),        # the rows of x under the sum; the columns of W
])
def test_partials_are_sympy_diff_and_central_differences(monkeypatch, text, point, direct):
    prog = stage(text)
    arrays = {k: np.asarray(v, float) for k, v in point.items()}
    expr, symbols = symbolic_value(prog, arrays)
    comps = [s for arr in symbols.values() for s in np.ravel(arr)]
    calls = _counted(monkeypatch)
    got = partials(expr, symbols)
    monkeypatch.undo()
    assert set(got) == set(comps)
    for s in comps:
        assert got[s] == sp.diff(expr, s), s               # the very expression sympy.diff gives
    assert len(calls) == direct
    at = {s: v for p, arr in symbols.items() for s, v in zip(np.ravel(arr), np.ravel(arrays[p]))}
    numeric = central_differences(prog, arrays)
    for p, arr in symbols.items():
        mine = np.array([float(got[s].xreplace(at)) for s in np.ravel(arr)]).reshape(np.shape(arr))
        assert np.allclose(mine, numeric[p], rtol=1e-6, atol=1e-6), p
