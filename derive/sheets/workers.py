"""SymPy's side of a sheet, worked out in killed workers while the sheet is computed and drawn.

``Symbolic(prog)`` starts SymPy's gradient of a program in a budgeted worker at once
(``derive.symbolic.budget.start``), and ``check_paths()`` a second one checking each forked
input's sum over paths against ``sympy.diff``; the caller goes on with the numbers and the
renderer's set-up on the other core, then ``fill`` waits and puts the answers in the sheets.
``symbolic_side(prog)`` is the same, waited for at once. Both answers depend on the function
alone, so they are kept in the disk cache (``derive.core.disk``, keyed by ``program_key``):
a function seen before starts no worker at all.
"""
from __future__ import annotations

import sympy as sp

from derive.core import disk
from derive.sheets import request
from derive.symbolic.budget import DEFAULT_BUDGET, check_budget
from derive.sheets.tex import tex_name
from derive.symbolic.metrics import count_ops
from derive.symbolic.derivatives import gradient
from derive.symbolic.paths import count_paths
from derive.symbolic.paths import forks
from derive.symbolic.paths import paths
from derive.symbolic.budget import start
from derive.symbolic.metrics import tree_nodes
from derive.symbolic.metrics import program_metrics

MAX_PATHS = 12       # paths listed per forked input
MAX_FORKS = 4        # forked inputs given a sum over paths
MAX_EXPR_NODES = 20_000   # a function larger than this written out is not given to SymPy
MAX_SHOWN_OPS = 1_500     # a symbolic derivative larger than this is measured, not printed


def symbolic_side(prog, budget: float = DEFAULT_BUDGET):
    """[(input, d f/d input as SymPy gives it)] and the sizes beside the staged program's
    (``derive.symbolic.derivatives`` and ``derive.symbolic.metrics``, measured as ``derive compare`` does).

    SymPy works in a killed worker under ``budget`` seconds (``derive.symbolic.budget``), and not at
    all when the function written out has more than ``MAX_EXPR_NODES`` nodes; a derivative
    of more than ``MAX_SHOWN_OPS`` operations is measured but not printed. The sheet then says
    so beside the staged program's size: that gap is the lesson (expression swell)."""
    return Symbolic(prog, budget).static()


class Symbolic:
    """The symbolic side of one program and its paths' ``sympy.diff`` checks, each in a killed
    worker started at once (``derive.symbolic.budget.start``): the caller goes on with the numbers and
    the drawing on the other core, and ``static()`` / ``checks()`` wait for the answers."""

    def __init__(self, prog, budget: float = DEFAULT_BUDGET):

        self.prog, self.budget = prog, check_budget(budget)
        self.nodes = tree_nodes([prog.expr()])
        self.paths_job, self._static, self._checks = None, None, None
        self.key = program_key(prog)
        self._ops = disk.load(disk.key("sympy-gradient", self.key))
        self.job = None
        if self._ops is None and self.nodes <= MAX_EXPR_NODES:
            self.job = start(self.budget, _symbolic_ops, prog)

    def check_paths(self, point=None):
        """Start checking each forked input's sum over paths against ``sympy.diff`` (symbolically:
        the answer holds at every point; ``point`` is not used)."""

        if self.paths_job is None and self._checks is None and self.nodes <= MAX_EXPR_NODES:
            self._checks = disk.load(disk.key("path-checks", self.key))
            if self._checks is None:
                self.paths_job = start(self.budget, _path_checks, self.prog, daemon=False)

    def working(self) -> bool:
        """A worker was started (the answers were not in the disk cache)."""
        return self.job is not None or self.paths_job is not None

    def cancel(self):
        for job in (self.job, self.paths_job):
            if job is not None:
                job.cancel()

    def checks(self) -> dict:
        """{input name: simplify showed that the sum over its paths equals sympy.diff}."""
        if "ok" != self.static()[1]["symbolic_status"]:
            return {}
        if self._checks is None and self.paths_job is not None:
            out = self.paths_job.wait()
            self._checks = out.value if out.ok else {}
            if out.ok and all(out.value.values()):     # no answer that hangs on a timeout
                disk.save(disk.key("path-checks", self.key), out.value)
            else:
                request.incomplete()
        return self._checks or {}

    def static(self):
        if self._static is None:
            self._static = self._finish()
        return self._static

    def _finish(self):

        prog, nodes = self.prog, self.nodes
        staged = program_metrics(prog)
        sizes = {"symbolic_ops": None, "symbolic_status": "ok", "staged_ops": staged["ops"],
                 **{k: staged[k] for k in ("forward_ops", "backward_ops", "forward_lines",
                                           "backward_lines")}}
        parts = len(prog.inputs)
        if self._ops is not None:                      # from the disk cache
            out = _Done(self._ops)
        elif self.job is None:
            sizes["symbolic_status"] = f"too large: the function written out has {nodes} nodes"
            out = None
        else:
            out = self.job.wait()
            if not out.ok:
                sizes["symbolic_status"] = out.status
                request.incomplete()                   # a budget ran out: not kept whole
            elif out.value[1] is not None or out.value[0] > MAX_SHOWN_OPS:   # what pickled
                disk.save(disk.key("sympy-gradient", self.key), out.value)
        staged_text = (f"the staged program takes {staged['ops']} operations ({sizes['forward_ops']} "
                       f"forward + {sizes['backward_ops']} backward) for the value and the whole "
                       "gradient")
        if out is None or not out.ok:
            why = (f"SymPy's gradient was not computed: written out as one expression, the "
                   f"function alone has {nodes} nodes, too large to differentiate or print"
                   if out is None else f"SymPy's gradient {sizes['symbolic_status']}")
            return [], sizes, (f"{why}, while {staged_text}. This is expression swell: the symbolic "
                               "form writes shared subexpressions out again in every term instead "
                               "of naming them once, and here it has swelled past printing.")
        sym_ops, shown = out.value
        sizes["symbolic_ops"] = sym_ops
        if sym_ops <= MAX_SHOWN_OPS and shown is None:  # did not pickle: again here, to print
            from derive.symbolic.derivatives import gradient

            grad = gradient(prog)
            shown = [grad[s.name] for s in prog.inputs]
        derivs = list(zip(prog.inputs, shown)) if shown is not None else []
        ratio = sym_ops / staged["ops"] if staged["ops"] else float("inf")
        head = (f"SymPy's gradient takes {sym_ops} operations for {parts} partial "
                f"derivative{'s' * (parts != 1)}, the staged program {staged['ops']} "
                f"({sizes['forward_ops']} forward + {sizes['backward_ops']} backward) for the value "
                f"and the whole gradient: ")
        if sym_ops > MAX_SHOWN_OPS:
            sizes["symbolic_status"] = f"too large to print ({sym_ops} operations)"
            head = f"SymPy's gradient is too large to print here ({sym_ops} operations). " + head
        if ratio > 1.15:
            swell = head + (f"the symbolic form is {ratio:.1f} times as large, because it writes "
                            "shared subexpressions out again in every term instead of naming them once.")
        else:
            swell = head + (f"here the symbolic form is no larger ({ratio:.1f} times), because this "
                            "function is small and shares little; the gap opens as functions get "
                            "deeper and values fork more.")
        return derivs, sizes, swell


class _Done:
    """A worker's answer read from the disk cache."""

    ok = True

    def __init__(self, value):
        self.value = value


def program_key(prog) -> str:
    """The function as SymPy and the sheet see it, written out exactly (``srepr``): its inputs,
    output, every forward line and every backward line's local gradient."""
    lines = [repr([s.name for s in prog.inputs]), repr(prog.params), prog.output.name]
    lines += [f"{ln.target.name} = {sp.srepr(ln.rhs)}" for ln in prog.forward]
    lines += [f"{bl.target.name} {bl.accumulate} {sp.srepr(bl.local)} {bl.upstream} {bl.ref}"
              for bl in prog.backward]
    return "\n".join(lines)


def _symbolic_ops(prog):
    """In the worker: the operations of SymPy's gradient, and the partials to print when they
    are small and pickle (expressions of gates registered at run time do not)."""
    import pickle

    grad = gradient(prog)
    ops = count_ops(grad.values())
    shown = [grad[s.name] for s in prog.inputs] if ops <= MAX_SHOWN_OPS else None
    try:
        pickle.dumps(shown)
    except Exception:
        shown = None
    return ops, shown


def _path_checks(prog):
    """In the worker: {forked input: expand or simplify shows its sum over paths equals sympy.diff}
    (``derive.symbolic.paths`` with no point, which gives ``simplify`` a budgeted worker of
    its own); at no point, a timeout is False."""
    counts = count_paths(prog)
    return {v.name: paths(prog, v.name, False, limit=MAX_PATHS, symbolic=True).agrees
            for v in forks(prog)[:MAX_FORKS] if counts[v] <= MAX_PATHS}


def fill(sheets, job: Symbolic):
    """Put the symbolic side and the paths' checks, once done, into sheets built without: a
    sum over paths agrees with ``sympy.diff`` if simplify showed it, or (simplify gave no answer)
    if all its terms are listed and add up to the backward pass's value at the sheet's point."""
    derivs, sizes, swell = job.static()
    checks = job.checks()
    symbolic = [(tex_name(v.name), d) for v, d in derivs]
    for s in sheets:
        s.symbolic, s.sizes, s.swell = symbolic, sizes, swell
        for block in s.paths:
            block["agrees"] = bool(checks.get(block["var"], False) or (
                sizes.get("symbolic_status") == "ok" and block["var"] in checks
                and _terms_add_up(block)))


def _terms_add_up(block) -> bool:
    total = block["total"]
    if block["more"] or total is None:
        return False
    return abs(sum(r[2] for r in block["rows"]) - total) <= 1e-9 * max(1, abs(total))
