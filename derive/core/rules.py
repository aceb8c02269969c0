"""THE table of primitives: one row per gate holds everything about it; other tables are built.

A row (``Rule``) holds the gate's grammar names and aliases (``exp``, ``math.exp``,
``np.exp``), arity, SymPy form, local gradients, numeric implementations (math, NumPy,
mpmath), its spellings in Python, NumPy, LaTeX and Typst, circuit label, name prefix, domain
message and decomposition into elementary gates. Array gates are rows of ``ARRAY_RULES``
(NumPy templates and vector-Jacobian products, their rows in ``rows_array`` and ``rows_numpy``).
Every other table (the parser's names, the
evaluation namespaces, the printers' ``_print_<gate>`` methods, reserved names, sheet and
circuit labels) is built from the rows with ``derived`` / ``on_change``, the way SymPy's
``pycode`` builds its printers from ``_known_functions`` with a setattr loop; ``register``
adds a row at run time and every one of those tables is rebuilt.

Local gradients are SymPy expressions in the argument symbols ``A``, ``B`` and the gate's
output ``Y`` (so the sigmoid's is ``(1 - Y)*Y``, as CS231n writes it). They are data: they
print, substitute and evaluate; there are no closures here.

Subgradient convention at kinks (documented for users in README): relu'(0) = 0,
abs'(0) = 0 (``sign``), and at a tie ``max``/``min`` split the gradient equally (1/2 each,
SymPy's ``Heaviside(0) = 1/2``), so the staged gradient and ``sympy.diff`` always agree.
"""
from __future__ import annotations

import builtins
import math
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp

from derive.core import primitives
from derive.core import rows_numpy
from derive.core.rows_array import ARRAY_ROWS, SOFTMAX_CE_EXPANSION, ArrayRule  # noqa: F401 (the array rows)
from derive.core.errors import DeriveError
from derive.core.functions import A, B, Y, gate_function, maximum, minimum, relu, sigmoid, softplus  # noqa: F401
from sympy.codegen.cfunctions import log1p


def _neg(a):
    return sp.Mul(-1, a, evaluate=False)


def _sub(a, b):
    if isinstance(b, sp.Number):  # x - 2, not x - 1*2
        return sp.Add(a, -b, evaluate=False)
    return sp.Add(a, sp.Mul(-1, b, evaluate=False), evaluate=False)


def _div(a, b):
    if a == 1:
        return sp.Pow(b, -1, evaluate=False)
    return sp.Mul(a, sp.Pow(b, -1, evaluate=False), evaluate=False)


@dataclass(frozen=True)
class Rule:
    """One primitive gate: everything any part of derive needs to know about it."""

    name: str                 # canonical name, used in the grammar for functions
    arity: int
    build: object             # SymPy constructor: (*args) -> expression of this one gate
    grads: tuple              # local gradient per argument, SymPy in A, B, Y
    label: str                # gate label in circuits ("+", "*", "exp", "σ")
    latex: str                # LaTeX template of the gate, args as {0}, {1}
    short: str = ""           # prefix for generated names: sigmoid(y) -> "sigy"
    infix: bool = False       # an operator (+ - * / **), not a called function
    aliases: tuple = ()       # other spellings accepted (math.exp, np.exp, np.multiply)
    expand: str = ""          # the gate in elementary gates, in the grammar (args a, b)
    recognize: bool = False   # fold its expansion back into this gate in grouped mode
    domain: str = ""          # what the argument must satisfy, for error messages
    sympy_types: tuple = field(default=(), compare=False)  # SymPy classes that are this gate
    kink: tuple = ()          # (expression in A, B that is 0 at a kink, the convention used there)
    impl: tuple = field(default=(), compare=False)  # (math, NumPy, mpmath) functions
    py: str = ""              # Python spelling in printed code (default: the name)
    numpy: str = ""           # NumPy spelling: "np.exp", or a template "np.maximum({0}, 0)"
    typst: str = ""           # Typst spelling (default: the name as upright text)
    evaluate: object = field(default=None, compare=False)  # evaluated SymPy form (default build)
    sugar: bool = False       # only a spelling: always replaced by its expansion (np.square)
    sample: tuple = (-2.0, 2.0)  # where the tests draw arguments (inside the domain)

    @property
    def called(self) -> bool:
        """A function that printed code calls by name (not an operator, not a spelling)."""
        return not self.infix and not self.sugar

    @property
    def pyname(self) -> str:
        return self.py or self.name

    def python_call(self, args) -> str:
        return f"{self.pyname}({', '.join(args)})"

    def numpy_call(self, args) -> str:
        spelling = self.numpy or self.pyname
        return spelling.format(*args) if "{" in spelling else f"{spelling}({', '.join(args)})"

    @property
    def latex_head(self) -> str:
        """The LaTeX in front of the argument (``\\sigma``, ``\\log``) or "" if not a prefix."""
        for tail in (r"\left({0}\right)", " {0}"):
            if self.arity == 1 and self.latex.endswith(tail) and "{0}" not in self.latex[:-len(tail)]:
                return self.latex[:-len(tail)].replace("{{", "{").replace("}}", "}")
        return ""


def _lib(name, np_name=None):
    """The (math, NumPy, mpmath) functions of one name."""
    return getattr(math, name), getattr(np, np_name or name), getattr(mpmath, name)


def _np(*names):
    out = []
    for n in names:
        out += [f"math.{n}", f"np.{n}", f"numpy.{n}"]
    return tuple(out)


RULES: dict[str, Rule] = {r.name: r for r in [
    Rule("id", 1, lambda a: a, (sp.S.One,), "=", "{0}", infix=True, short="id",
         evaluate=lambda a: a, aliases=(".copy",)),
    Rule("add", 2, lambda a, b: sp.Add(a, b, evaluate=False), (sp.S.One, sp.S.One),
         "+", "{0} + {1}", infix=True, evaluate=lambda a, b: a + b),
    Rule("sub", 2, _sub, (sp.S.One, sp.S.NegativeOne), "-", "{0} - {1}", infix=True,
         evaluate=lambda a, b: a - b),
    Rule("mul", 2, lambda a, b: sp.Mul(a, b, evaluate=False), (B, A), "*",
         "{0} {1}", infix=True, evaluate=lambda a, b: a * b, aliases=("np.multiply", "numpy.multiply")),
    Rule("div", 2, _div, (1 / B, -A / B**2), "/", r"\frac{{{0}}}{{{1}}}", infix=True,
         expand="a * (1 / b)", domain="a non-zero denominator", evaluate=lambda a, b: a / b),
    Rule("pow", 2, lambda a, b: sp.Pow(a, b, evaluate=False), (B * A**(B - 1), Y * sp.log(A)),
         "**", "{0}^{{{1}}}", infix=True, domain="a positive base for a non-integer power",
         evaluate=lambda a, b: a ** b, sample=(0.2, 2.0)),
    Rule("neg", 1, _neg, (sp.S.NegativeOne,), "-x", "-{0}", infix=True, short="neg",
         evaluate=lambda a: -a),
    Rule("exp", 1, sp.exp, (Y,), "exp", r"e^{{{0}}}", short="exp", aliases=_np("exp") + (".exp",),
         sympy_types=(sp.exp,), impl=_lib("exp"), numpy="np.exp", typst="exp"),
    Rule("log", 1, sp.log, (1 / A,), "log", r"\log {0}", short="log", aliases=_np("log") + (".log",),
         domain="a positive argument", sympy_types=(sp.log,), impl=_lib("log"), numpy="np.log",
         typst="log", sample=(0.2, 2.0)),
    Rule("sqrt", 1, sp.sqrt, (1 / (2 * Y),), "sqrt", r"\sqrt{{{0}}}", short="sqrt",
         aliases=_np("sqrt"), domain="a non-negative argument", impl=_lib("sqrt"),
         numpy="np.sqrt", sample=(0.2, 2.0)),
    Rule("sin", 1, sp.sin, (sp.cos(A),), "sin", r"\sin {0}", short="sin", aliases=_np("sin"),
         sympy_types=(sp.sin,), impl=_lib("sin"), numpy="np.sin", typst="sin"),
    Rule("cos", 1, sp.cos, (-sp.sin(A),), "cos", r"\cos {0}", short="cos", aliases=_np("cos"),
         sympy_types=(sp.cos,), impl=_lib("cos"), numpy="np.cos", typst="cos"),
    Rule("tanh", 1, sp.tanh, (1 - Y**2,), "tanh", r"\tanh {0}", short="tanh",
         aliases=_np("tanh") + (".tanh",), sympy_types=(sp.tanh,), impl=_lib("tanh"), numpy="np.tanh",
         typst="tanh"),
    Rule("sigmoid", 1, sigmoid, ((1 - Y) * Y,), "σ", r"\sigma\left({0}\right)", short="sig",
         aliases=("derive.sigmoid",), expand="1 / (1 + exp(-a))", recognize=True,
         sympy_types=(sigmoid,), typst="sigma",
         impl=(primitives._float_sigmoid, primitives._np_sigmoid, primitives.sigmoid)),
    Rule("relu", 1, relu, (sp.Heaviside(A, 0),), "relu", r"\operatorname{{relu}}\left({0}\right)",
         short="relu", aliases=("derive.relu", ".relu"), sympy_types=(relu,),
         kink=(A, "relu is not differentiable at 0; derive uses relu'(0) = 0"),
         impl=(primitives.relu,) * 3, numpy="np.maximum({0}, 0)"),
    Rule("abs", 1, sp.Abs, (sp.sign(A),), "abs", r"\left|{0}\right|", short="abs",
         aliases=("math.fabs", "np.abs", "numpy.abs", "np.absolute", "numpy.absolute"),
         sympy_types=(sp.Abs,), kink=(A, "abs is not differentiable at 0; derive uses abs'(0) = 0"),
         impl=(abs, np.abs, abs), numpy="np.abs"),
    Rule("max", 2, maximum, (sp.Heaviside(A - B), sp.Heaviside(B - A)), "max",
         r"\max\left({0}, {1}\right)", short="max", aliases=("np.maximum", "numpy.maximum"),
         sympy_types=(maximum, sp.Max), kink=(A - B, "a tie in max; derive gives each argument half the gradient"),
         impl=(max, np.maximum, max), numpy="np.maximum"),
    Rule("min", 2, minimum, (sp.Heaviside(B - A), sp.Heaviside(A - B)), "min",
         r"\min\left({0}, {1}\right)", short="min", aliases=("np.minimum", "numpy.minimum"),
         sympy_types=(minimum, sp.Min), kink=(A - B, "a tie in min; derive gives each argument half the gradient"),
         impl=(min, np.minimum, min), numpy="np.minimum"),
    Rule("softplus", 1, softplus, (sigmoid(A),), "softplus", r"\operatorname{{softplus}}\left({0}\right)",
         short="sp", aliases=("derive.softplus",), expand="log(1 + exp(a))", sympy_types=(softplus,),
         impl=(primitives.softplus,) * 3, numpy="np.logaddexp(0, {0})"),
    Rule("atan", 1, sp.atan, (1 / (1 + A**2),), "atan", r"\operatorname{{atan}} {0}", short="atan",
         aliases=_np("atan") + ("np.arctan", "numpy.arctan"), sympy_types=(sp.atan,),
         impl=_lib("atan", "arctan"), numpy="np.arctan", typst="arctan"),
    Rule("tan", 1, sp.tan, (1 + Y**2,), "tan", r"\tan {0}", short="tan", aliases=_np("tan"),
         sympy_types=(sp.tan,), impl=_lib("tan"), numpy="np.tan", typst="tan", sample=(-1.2, 1.2),
         domain="an argument away from the poles at pi/2 + k pi"),
    Rule("sinh", 1, sp.sinh, (sp.cosh(A),), "sinh", r"\sinh {0}", short="sinh", aliases=_np("sinh"),
         sympy_types=(sp.sinh,), impl=_lib("sinh"), numpy="np.sinh", typst="sinh"),
    Rule("cosh", 1, sp.cosh, (sp.sinh(A),), "cosh", r"\cosh {0}", short="cosh", aliases=_np("cosh"),
         sympy_types=(sp.cosh,), impl=_lib("cosh"), numpy="np.cosh", typst="cosh"),
    Rule("log1p", 1, log1p, (1 / (1 + A),), "log1p", r"\operatorname{{log1p}}\left({0}\right)",
         short="lg1p", aliases=_np("log1p"), sympy_types=(log1p,), impl=_lib("log1p"),
         numpy="np.log1p", domain="an argument above -1", sample=(-0.8, 2.0)),
    Rule("square", 1, lambda a: sp.Pow(a, 2, evaluate=False), (2 * A,), "²", "{0}^{{2}}",
         short="sqr", aliases=("np.square", "numpy.square"), expand="a ** 2", sugar=True,
         evaluate=lambda a: a**2),
]}

#: Helper functions that printed gradients call besides the gates (Heaviside, sign).
HELPERS = ("heaviside", "sign")

BINOPS = {"Add": "add", "Sub": "sub", "Mult": "mul", "Div": "div", "Pow": "pow"}


def local_gradient(rule: Rule, index: int, args, out) -> sp.Expr:
    """The local gradient d(out)/d(args[index]) of one gate, with the gate's names put in."""
    subs = {A: args[0], Y: out}
    if len(args) > 1:
        subs[B] = args[1]
    return rule.grads[index].xreplace(subs)


def apply(rule_name: str, *args) -> sp.Expr:
    """The gate applied to SymPy arguments, evaluated (for the symbolic side)."""
    r = RULES[rule_name]
    return (r.evaluate or r.build)(*args)


ARRAY_RULES: dict[str, ArrayRule] = {r.name: r for r in ARRAY_ROWS}  # rows_array.py
ARRAY_RULES.update((f["name"], ArrayRule(**f)) for f in rows_numpy.ARRAY_ROWS)  # np.var, np.max, ...


# ---- tables built from the rows ---------------------------------------------------------------
_DERIVED: list = []   # (container, build): rebuilt in place when a row is registered
_HOOKS: list = []     # functions run after every change (printers' setattr loops)


def derived(build):
    """A dict, set or list built from the rows by ``build()``, rebuilt in place (so modules that
    imported it see the change) whenever ``register`` adds a row."""
    container = build()
    _DERIVED.append((container, build))
    return container


def on_change(hook):
    """Run ``hook()`` now and again after every ``register`` (e.g. a printer's setattr loop)."""
    _HOOKS.append(hook)
    hook()
    return hook


def _rebuild():
    for container, build in _DERIVED:
        new = build()
        if isinstance(container, list):
            container[:] = new
        else:
            container.clear()
            container.update(new)
    for hook in _HOOKS:
        hook()


#: Functions a user may call in an expression string: the table's called rows.
FUNCTIONS = derived(lambda: [name for name, r in RULES.items() if r.called])

#: Every accepted spelling of a call (``exp``, ``math.exp``, ``np.exp``, ...) -> rule name.
CALL_NAMES = derived(lambda: {**{name: name for name in FUNCTIONS},
                              **{alias: r.name for r in RULES.values() for alias in r.aliases}})

#: Array gate spellings (``np.sum``, ``np.dot``, ...) -> array rule name.
ARRAY_CALLS = derived(lambda: {alias: r.name for r in ARRAY_RULES.values() for alias in r.calls})

#: SymPy class -> rule name (reading SymPy expressions).
SYMPY_TYPES = derived(lambda: {t: r.name for r in RULES.values() for t in r.sympy_types})


# ---- adding a row at run time -------------------------------------------------------------------
def register(rule=None, /, **fields):
    """Add a gate to the table at run time; every part of derive picks it up.

    Give a ``Rule`` or ``ArrayRule``, or the fields of a scalar gate with its ``formula`` in
    ``A`` (and ``B``)::

        register(name="softsign", formula=A / (1 + sp.Abs(A)), label="ss")

    Missing fields are derived: the local gradients by ``sympy.diff`` of the formula, a SymPy
    class (``derive.core.functions.gate_function``), the math/NumPy/mpmath functions by
    ``lambdify``, the LaTeX ``\\operatorname{name}``. The numeric function is also put in
    ``derive.core.primitives`` so printed code can import it. Returns the row.
    """
    if rule is None:
        rule = _rule_from(**fields)
    elif fields:
        raise DeriveError("register(rule) takes no other arguments")
    table = ARRAY_RULES if isinstance(rule, ArrayRule) else RULES
    if not isinstance(rule, (Rule, ArrayRule)):
        raise DeriveError("register() takes a Rule, an ArrayRule or the fields of a gate")
    spellings = (rule.name,) + tuple(getattr(rule, "aliases", ()) or getattr(rule, "calls", ()))
    taken = [s for s in spellings if s in RULES or s in ARRAY_RULES or s in CALL_NAMES or s in ARRAY_CALLS]
    if taken:
        raise DeriveError(f"'{taken[0]}' is already a gate; pick another name")
    if not rule.name.isidentifier():
        raise DeriveError(f"gate name '{rule.name}' must be a Python identifier")
    if isinstance(rule, Rule):
        if rule.arity not in (1, 2) or len(rule.grads) != rule.arity:
            raise DeriveError(f"gate {rule.name}: arity 1 or 2, with one local gradient per argument")
        if rule.called and rule.pyname not in vars(primitives) and not _in_math(rule):
            setattr(primitives, rule.pyname, rule.impl[0])
    table[rule.name] = rule
    _rebuild()
    return rule


def unregister(name: str) -> None:
    """Remove a gate added by ``register`` (tests, notebooks that try a gate and drop it)."""
    for table in (RULES, ARRAY_RULES):
        if name in table:
            del table[name]
            _rebuild()
            return
    raise DeriveError(f"no gate named '{name}'")


def _in_math(rule) -> bool:
    return bool(rule.impl) and (getattr(math, rule.pyname, None) is rule.impl[0]
                                or getattr(builtins, rule.pyname, None) is rule.impl[0])


def _rule_from(name, formula=None, arity=None, grads=None, function=None, impl=None,
               label=None, latex=None, short=None, **rest) -> Rule:
    if formula is None and (function is None or grads is None or impl is None):
        raise DeriveError(f"gate {name}: give its formula (in A, B), or function, grads and impl")
    if arity is None:
        arity = 2 if formula is not None and B in formula.free_symbols else 1
    args = (A, B)[:arity]
    if grads is None:  # differentiate with real arguments (so |A|' is sign(A))
        real = {a: sp.Dummy(a.name, real=True) for a in args}
        back = {v: k for k, v in real.items()}
        grads = tuple(sp.diff(formula.xreplace(real), real[a]).xreplace(back) for a in args)
    if function is None:
        function = gate_function(name, formula, tuple(grads))
    if impl is None:
        impl = tuple(sp.lambdify(args, formula, mod) for mod in ("math", "numpy", "mpmath"))
    latex = latex or (rf"\operatorname{{{{{name}}}}}\left({{0}}\right)" if arity == 1 else
                      rf"\operatorname{{{{{name}}}}}\left({{0}}, {{1}}\right)")
    return Rule(name, arity, function, tuple(grads), label or name, latex,
                short=name[:4] if short is None else short, sympy_types=(function,),
                impl=tuple(impl), **rest)
