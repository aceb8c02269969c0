"""Hypothesis strategies: random expressions from derive's grammar (all table functions)."""
from hypothesis import strategies as st

from derive.core.rules import RULES

NAMES = ["x", "y", "z"]
UNARY = [n for n, r in RULES.items() if r.called and r.arity == 1]
BINARY_FUNCS = [n for n, r in RULES.items() if r.called and r.arity == 2]
# rows defined on part of the line only: their argument mapped into the row's sample interval
SAFE_UNARY = {n: f"{n}({r.sample[0]} + {r.sample[1] - r.sample[0]} * sigmoid({{}}))"
              for n, r in RULES.items() if r.called and r.sample != (-2.0, 2.0)}
SAFE_UNARY.update({"log": "log({} ** 2 + 1)", "sqrt": "sqrt({} ** 2 + 0.5)"})


def _leaf():
    return st.one_of(st.sampled_from(NAMES),
                     st.integers(1, 5).map(str),
                     st.sampled_from(["0.5", "1.5", "2.0"]))


def _extend(children):
    def unary(fn_arg):
        fn, a = fn_arg
        return SAFE_UNARY.get(fn, fn + "({})").format(a)

    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*"]), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(children, children).map(lambda t: f"({t[0]} / (({t[1]}) ** 2 + 1))"),
        st.tuples(children, st.integers(2, 3)).map(lambda t: f"({t[0]}) ** {t[1]}"),
        st.tuples(st.sampled_from(UNARY), children).map(unary),
        st.tuples(st.sampled_from(BINARY_FUNCS), children, children).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        children.map(lambda c: f"-({c})"),
    )


#: Expressions that are defined (no log of negatives, no division by zero) for all real inputs.
expressions = st.recursive(_leaf(), _extend, max_leaves=12)
