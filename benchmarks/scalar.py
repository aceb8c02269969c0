"""Measurements 1-3 on one family member: producing the gradient, evaluating it, counting ops.

derive and the runtime tapes are measured in this process. Everything SymPy does (``diff``,
``cse``, ``lambdify`` and evaluating what ``lambdify`` made) runs in a forked worker under a
time cap (``derive.symbolic.budget.within``), so a derivative that swells past the cap is reported as
"gave up" instead of hanging the run; the worker times itself, so forking is not counted.
"""
from __future__ import annotations

import random

import sympy as sp
from sympy.core.cache import clear_cache

from benchmarks import peers
from benchmarks.timing import interleaved, once, per_call, summary
from derive.symbolic.budget import within
from derive.symbolic.families import build
from derive.staging.staged import stage

TAPES = ("micrograd", "autograd")  # JAX runs last, in its own pass (see jax_evaluation)


def point(prog, domain, seed=0):
    rng = random.Random(seed)
    lo, hi = domain
    return {name: [rng.uniform(lo, hi) for _ in range(size)] if size else rng.uniform(lo, hi)
            for name, size in prog.params}


def _stage(text):
    clear_cache()
    return once(stage, text)


def derive_production(text, budget):
    """Seconds to stage (parse, forward lines, backward lines) and to compile the program."""
    stage_s, compile_s = [], []
    for _ in range(budget.production_repeats):
        prog, s = _stage(text)
        stage_s.append(s)
        compile_s.append(once(prog.gradient_function, "math")[1])
    return {"stage": summary(stage_s), "stage+compile": summary([a + b for a, b in zip(stage_s, compile_s)])}


def _symbolic(prog, args, ref, budget, others):
    """In the worker: produce the symbolic gradient four ways, count its ops, time its evaluation."""
    expr = peers.plain_expr(prog)
    inputs = prog.inputs
    diff_s, cse_s, lam_s, lamcse_s = [], [], [], []
    for k in range(budget.production_repeats):
        clear_cache()
        grads, t = once(peers.sympy_gradient, expr, inputs)
        diff_s.append(t)
        clear_cache()
        reduced, t = once(sp.cse, grads)
        cse_s.append(diff_s[-1] + t)
        clear_cache()
        raw_fn, t = once(peers.lambdify_grad, inputs, grads, False)
        lam_s.append(diff_s[-1] + t)
        clear_cache()
        cse_fn, t = once(peers.lambdify_grad, inputs, grads, True)
        lamcse_s.append(diff_s[-1] + t)
        if sum(lamcse_s) + sum(lam_s) > budget.cap_s / 4:
            break
    production = {"sympy.diff": summary(diff_s), "sympy.diff+cse": summary(cse_s),
                  "lambdify": summary(lam_s), "lambdify(cse=True)": summary(lamcse_s)}
    repl, red = reduced
    ops = {"symbolic": sum(int(sp.count_ops(g, visual=False)) for g in grads),
           "symbolic+cse": sum(int(sp.count_ops(e, visual=False)) for e in [v for _, v in repl] + list(red))}
    evaluation, timed = {}, {}
    for name, fn in (("lambdify", raw_fn), ("lambdify(cse=True)", cse_fn)):
        if not peers.close(fn(*args), ref):
            evaluation[name] = {"status": "error: gradient differs from derive's"}
        else:
            timed[name] = (fn, args)
    timed.update(others)  # derive and the tapes, sampled round-robin with lambdify
    evaluation.update(interleaved(timed, budget))
    return production, ops, evaluation


def _tape(name, prog):
    return peers.micrograd_grad(prog) if name == "micrograd" else peers.autograd_grad(prog)


def _case(family, n):
    inst = build(family, n)
    prog = stage(inst.text)
    pt = point(prog, inst.domain)
    args = [pt[name] for name, _ in prog.params]
    ref = list(peers.derive_grad(prog)(*args))
    return inst, prog, pt, args, ref


def jax_evaluation(family: str, n: int, budget) -> dict:
    """Seconds per call of ``jax.jit(jax.grad(f))`` (compiled on the warm-up call), or a status.

    JAX starts threads when imported, and forking a threaded process can deadlock, so the
    run calls this after every forked measurement is done.
    """
    _, prog, _, args, ref = _case(family, n)
    g = peers.jax_grad(prog)
    if g is None:
        return {"status": "skipped: jax is not installed"}
    if not peers.close(g(*args), ref):
        return {"status": "error: gradient differs from derive's"}
    return per_call(g, args, budget)


def measure(family: str, n: int, budget, skip=None) -> dict:
    """All scalar measurements of ``family`` at depth ``n``; peers in ``skip`` are not run.

    Evaluation is timed round-robin over every peer at once (``timing.interleaved``): inside
    the SymPy worker when it finishes (with the two lambdify functions), here otherwise.
    """
    skip = skip or {}
    row = {"family": family, "n": n, "production": {}, "evaluation": {}, "ops": {}, "status": {}}
    inst, prog, pt, args, ref = _case(family, n)
    row["production"].update(derive_production(inst.text, budget))
    row["ops"] = {"forward": prog.forward_ops, "backward": prog.backward_ops,
                  "ratio": round(prog.backward_ops / prog.forward_ops, 3) if prog.forward_ops else None,
                  "forward_lines": len(prog.forward), "backward_lines": len(prog.backward)}
    row["inputs"] = len(prog.inputs)
    timed = {"derive": (peers.derive_grad(prog), args)}
    for name in TAPES:
        if name in skip:
            row["status"][name] = skip[name]
            continue
        g = _tape(name, prog)
        if g is None:
            row["status"][name] = f"skipped: {name} is not installed"
        elif not peers.close(g(*args), ref):
            row["status"][name] = "error: gradient differs from derive's"
        else:
            timed[name] = (g, args)
    if "sympy" in skip:
        row["status"]["sympy"] = skip["sympy"]
        row["evaluation"].update(interleaved(timed, budget))
        return row
    flat = peers.flat_point(prog, pt)
    out = within(budget.cap_s, _symbolic, prog, flat, peers.flatten(ref), budget, timed)
    if out.ok:
        production, ops, evaluation = out.value
        row["production"].update(production)
        row["ops"].update(ops)
        for name, v in evaluation.items():
            if "status" in v:
                row["status"][name] = v["status"]
            else:
                row["evaluation"][name] = v
    else:
        row["status"]["sympy"] = out.status
        row["evaluation"].update(interleaved(timed, budget))
    return row
