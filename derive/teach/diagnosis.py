"""Judge each backward line of a learner on its own: is it right given the learner's own inputs?

For a scalar staged exercise, every reference backward line ``dv (+)= local * upstream`` is
evaluated with the learner's own forward values and upstream adjoints (their variables of the
same names). A line that disagrees is wrong *there*, not merely downstream of another mistake,
so several mistakes are found at once. Each wrong line is then explained, if possible, by at most
two edits of its reference lines: a dropped contribution (``=`` for ``+=``), a flipped sign, a
missing upstream factor, the sigmoid's local gradient taken as s, the multiply gate's swap
done backwards (``multiply-swap``), the power rule misapplied (``power-rule``). A lone
contribution that no edit explains is a ``wrong-local-gradient`` of its gate. A label is
given only when it reproduces the learner's numbers at every point.
"""
from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from derive.oracle.check import lambdify
from derive.printing.printers import CodePrinter

MAX_EDITS = 2


def _alternatives(bl, ops):
    """[(label, local expression, keeps upstream)] for one reference backward line."""
    line = ops[bl.ref]
    out = [("sign", -bl.local, True)]
    if bl.upstream is not None:
        out.append(("missing-upstream", bl.local, False))
    if line.op == "sigmoid":
        out.append(("sigmoid-local-gradient", line.target, True))
    if line.op == "mul" and len(line.args) == 2 and line.args[0] != line.args[1]:
        out.append(("multiply-swap", bl.var, True))  # d(a*b)/da taken as a
    if line.op == "pow" and len(line.args) == 2 and line.args[1].is_Number:
        base, n = line.args
        for wrong in (base ** (n - 1), n * base, n * base ** n):
            if sp.simplify(wrong - bl.local) != 0:
                out.append(("power-rule", wrong, True))
    return out


class LineJudge:
    """The per-line evaluator of one staged program (lambdified once, reused for every learner)."""

    def __init__(self, prog):
        self.prog = prog
        self.ops = {ln.number: ln for ln in prog.forward}
        syms = list(prog.inputs) + [ln.target for ln in prog.forward] + sorted(
            {bl.target for bl in prog.backward}, key=str)
        self.symbols = syms
        self.groups = {}
        for bl in prog.backward:
            if "[" in bl.target.name or bl.seed:
                continue  # list elements: judged through the outputs
            self.groups.setdefault(bl.target.name, []).append(bl)
        self._fns = {}

    def _fn(self, expr):
        key = sp.srepr(expr)
        if key not in self._fns:
            self._fns[key] = lambdify(self.symbols, expr)
        return self._fns[key]

    def _env(self, point, ref, loc):
        """Values of every symbol: the learner's where they have a number, else the reference's."""
        vals = []
        for s in self.symbols:
            name = s.name
            mine = loc.get(name)
            if isinstance(mine, float):
                vals.append(mine)
            elif "[" in name:
                base, idx = name[:-1].split("[")
                src = point.get(base, loc.get(base))
                try:
                    vals.append(float(np.asarray(src, dtype=float).reshape(-1)[int(idx)]))
                except (TypeError, ValueError, IndexError):
                    vals.append(float(ref.adjoints.get(name, 0.0)))
            elif name in point:
                vals.append(float(point[name]))
            elif name in ref.values:
                vals.append(float(ref.values[name]))
            else:
                vals.append(float(ref.adjoints.get(name, 0.0)))
        return vals

    def _term(self, bl, local, upstream, env):
        value = self._fn(local)(*env)
        if upstream and bl.upstream is not None:
            value *= env[self.symbols.index(bl.upstream)]
        return value

    def judge(self, points, locs, agree):
        """[(adjoint name, [labels] or ["wrong-local-gradient"] or [])] for each wrong line."""
        refs = [self.prog.run(**p) for p in points]
        envs = [self._env(p, r, loc) for p, r, loc in zip(points, refs, locs)]
        found = []
        for name, lines in self.groups.items():
            if not all(isinstance(loc.get(name), float) for loc in locs):
                continue
            mine = [loc[name] for loc in locs]
            try:
                right = [sum(self._term(bl, bl.local, True, e) for bl in lines) for e in envs]
            except (ZeroDivisionError, OverflowError, ValueError, TypeError):
                continue
            if all(agree(m, r) for m, r in zip(mine, right)):
                continue
            found.append((name, self._explain(lines, envs, mine, agree)))
        return found

    def _explain(self, lines, envs, mine, agree):
        options = []  # per line: [(labels, values at each point)]
        for bl in lines:
            opts = [((), [self._term(bl, bl.local, True, e) for e in envs])]
            if len(lines) > 1:
                opts.append((("fork-overwrite",), [0.0] * len(envs)))
            for label, local, up in _alternatives(bl, self.ops):
                try:
                    opts.append(((label,), [self._term(bl, local, up, e) for e in envs]))
                except (ZeroDivisionError, OverflowError, ValueError, TypeError):
                    pass
            options.append(opts)
        best = None
        for combo in itertools.product(*options):
            labels = [lab for labs, _ in combo for lab in labs]
            if not labels or len(labels) > MAX_EDITS or (best and len(labels) >= len(best)):
                continue
            if len(lines) > 1 and all(lab == "fork-overwrite" for lab in labels) and len(labels) == len(lines):
                continue  # dropping every contribution is not an overwrite
            total = [sum(vals[i] for _, vals in combo) for i in range(len(envs))]
            if all(agree(m, t) for m, t in zip(mine, total)):
                best = labels
        if best:
            return list(dict.fromkeys(best))
        return ["wrong-local-gradient"] if len(lines) == 1 else []

    def gate(self, name):
        """The forward line whose gate the adjoint ``name`` differentiates (for the message)."""

        bl = self.groups[name][0]
        line = self.ops[bl.ref]
        return f"{line.target} = {CodePrinter().doprint(line.rhs)}"
