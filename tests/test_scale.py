"""Staging is linear and never recursive: thousands of lines, deep expression chains."""
import math

from benchmarks.scale import program
from derive import stage
from derive.frontend.reader import parse_function
from derive.staging.staged import stage_graph


def test_4000_line_program_stages_and_runs():
    prog = stage_graph(parse_function(program(4000), "big"), "big")
    assert len(prog.forward) > 4000 and len(prog.backward) > len(prog.forward)
    r = prog.run(x=0.3, y=0.7)
    assert all(math.isfinite(v) for v in r.grad.values())
    # central differences of the program's own value, as a sanity check at this size
    h = 1e-6
    fd = (prog.run(x=0.3 + h, y=0.7).value - prog.run(x=0.3 - h, y=0.7).value) / (2 * h)
    assert math.isclose(r.grad["x"], fd, rel_tol=1e-4, abs_tol=1e-8)


def test_deep_expression_chain():
    text = "x" + " * sin(x) + x" * 3000
    prog = stage(text)
    r = prog.run(x=0.1)
    assert math.isclose(r.grad["x"], sum(math.sin(0.1) + 0.1 * math.cos(0.1) for _ in range(3000)) + 1,
                        rel_tol=1e-9)
