"""Time the sheets' math typesetter (derive.pdf.mathtex) against matplotlib's mathtext.

python benchmarks/mathtex.py [--repeat 5] [--no-mathtext]

The formulas are every line, local gradient, derivative and line-breaking piece of the
catalogue's sheets (as tests/test_mathtex.py builds them), at 10 points. Measures the import,
the first formula of a process (fonts and glyph bounds loaded), each formula laid out afresh
(best of --repeat; the per-character cache warm, as in a running process) and from the cache,
and matplotlib's ``MathTextParser("path").parse`` on the same formulas. Prints a Markdown table.
"""
import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def corpus() -> list:
    import sympy as sp

    from derive.sheets.tex import _factor_tex, _tex, tex_tokens
    from derive.symbolic.examples import CATALOGUE, stage_example

    seen = set()
    for ex in CATALOGUE:
        prog = stage_example(ex)
        expr = prog.expr()
        seen.add(_tex(expr))
        seen.update(f"{_tex(ln.target)} = {_tex(ln.rhs)}" for ln in prog.forward)
        seen.update(_tex(bl.local) for bl in prog.backward)
        seen.update(_factor_tex(bl.local) for bl in prog.backward)
        for s in prog.inputs:
            d = sp.diff(expr, s)
            seen.add(_tex(d))
            seen.update(tex_tokens(d, 45))
    return sorted(seen)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-mathtext", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    from derive.pdf import mathtex
    t1 = time.perf_counter()
    mathtex.typeset("x", 10)
    t2 = time.perf_counter()
    formulas = corpus()
    for tex in formulas:
        mathtex._lay(tex, 10.0)
    fresh = []
    for tex in formulas:
        best = float("inf")
        for _ in range(args.repeat):
            s = time.perf_counter()
            mathtex._lay(tex, 10.0)
            best = min(best, time.perf_counter() - s)
        fresh.append(best)
    for tex in formulas:
        mathtex.typeset(tex, 10.0)
    s = time.perf_counter()
    for tex in formulas:
        mathtex.typeset(tex, 10.0)
    cached = (time.perf_counter() - s) / len(formulas)
    longest = max(formulas, key=len)
    print(f"load average {os.getloadavg()[0]:.1f}, {len(formulas)} distinct formulas "
          f"({statistics.median(map(len, formulas)):.0f} characters median, longest {len(longest)})\n")
    print("| | ms |\n|---|---:|")
    print(f"| import derive.pdf.mathtex | {1e3 * (t1 - t0):.1f} |")
    print(f"| first formula of a process (fonts, glyph bounds) | {1e3 * (t2 - t1):.1f} |")
    print(f"| a formula, median | {1e3 * statistics.median(fresh):.3f} |")
    print(f"| a formula, mean | {1e3 * statistics.mean(fresh):.3f} |")
    print(f"| the longest formula | {1e3 * fresh[formulas.index(longest)]:.3f} |")
    print(f"| a formula from the cache | {1e3 * cached:.4f} |")
    if not args.no_mathtext:
        s = time.perf_counter()
        from matplotlib.mathtext import MathTextParser
        parser = MathTextParser("path")
        parser.parse("$x$", 72, None)
        first = time.perf_counter() - s
        times = []
        for tex in formulas:
            s = time.perf_counter()
            try:
                parser.parse(f"${tex}$", 72, None)
            except ValueError:
                continue
            times.append(time.perf_counter() - s)
        print(f"| matplotlib mathtext: import and first parse | {1e3 * first:.1f} |")
        print(f"| matplotlib mathtext: a formula, median | {1e3 * statistics.median(times):.3f} |")


if __name__ == "__main__":
    main()
