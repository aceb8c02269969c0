"""THE table of primitives: each gate's SymPy form, local gradients, spellings and decomposition.

Every other module reads this table. Adding a primitive means adding a row here: the parser
accepts its names, staging differentiates it, the printers spell it, the tests cover it.

Local gradients are SymPy expressions in the argument symbols ``A``, ``B`` and the gate's
output ``Y`` (so the sigmoid's is ``(1 - Y)*Y``, as CS231n writes it). They are data: they
print, substitute and evaluate; there are no closures here.

Subgradient convention at kinks (documented for users in README): relu'(0) = 0,
abs'(0) = 0 (``sign``), and at a tie ``max``/``min`` split the gradient equally (1/2 each,
SymPy's ``Heaviside(0) = 1/2``), so the staged gradient and ``sympy.diff`` always agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

A, B, Y = sp.symbols("A B Y")


class sigmoid(sp.Function):
    """The logistic function 1/(1 + exp(-x)) as one SymPy function (so expressions stay small)."""

    nargs = 1

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return 1 / (1 + sp.exp(-x))

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    def _eval_is_real(self):
        return self.args[0].is_real


class relu(sp.Function):
    """max(x, 0); its derivative is Heaviside(x, 0): relu'(0) = 0."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0], 0)

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return sp.Max(x, 0)

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sp.Max(x, 0)


class maximum(sp.Function):
    """max(a, b) kept as written (SymPy's Max reorders and merges its arguments)."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        return sp.Heaviside(a - b) if argindex == 1 else sp.Heaviside(b - a)

    @classmethod
    def eval(cls, a, b):
        if a.is_Number and b.is_Number:
            return sp.Max(a, b)


class minimum(sp.Function):
    """min(a, b) kept as written."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        return sp.Heaviside(b - a) if argindex == 1 else sp.Heaviside(a - b)

    @classmethod
    def eval(cls, a, b):
        if a.is_Number and b.is_Number:
            return sp.Min(a, b)


def _neg(a):
    return sp.Mul(-1, a, evaluate=False)


def _sub(a, b):
    return sp.Add(a, sp.Mul(-1, b, evaluate=False), evaluate=False)


def _div(a, b):
    if a == 1:
        return sp.Pow(b, -1, evaluate=False)
    return sp.Mul(a, sp.Pow(b, -1, evaluate=False), evaluate=False)


@dataclass(frozen=True)
class Rule:
    """One primitive gate."""

    name: str                 # canonical name, used in the grammar for functions
    arity: int
    build: object             # SymPy constructor: (*args) -> expression of this one gate
    grads: tuple              # local gradient per argument, SymPy in A, B, Y
    label: str                # gate label in circuits ("+", "*", "exp", "σ")
    latex: str                # LaTeX template of the gate, args as {0}, {1}
    short: str = ""          # prefix for generated names: sigmoid(y) -> "sigy"
    infix: bool = False       # an operator (+ - * / **), not a called function
    aliases: tuple = ()       # other spellings accepted in Python functions
    expand: str = ""          # the gate in elementary gates, in the grammar (args a, b)
    recognize: bool = False   # fold its expansion back into this gate in grouped mode
    domain: str = ""          # what the argument must satisfy, for error messages
    sympy_types: tuple = field(default=(), compare=False)  # SymPy classes that are this gate
    kink: tuple = ()          # (expression in A, B that is 0 at a kink, the convention used there)


def _np(*names):
    out = []
    for n in names:
        out += [f"math.{n}", f"np.{n}", f"numpy.{n}"]
    return tuple(out)


RULES: dict[str, Rule] = {r.name: r for r in [
    Rule("id", 1, lambda a: a, (sp.S.One,), "=", "{0}", infix=True, short="id"),
    Rule("add", 2, lambda a, b: sp.Add(a, b, evaluate=False), (sp.S.One, sp.S.One),
         "+", "{0} + {1}", infix=True),
    Rule("sub", 2, _sub, (sp.S.One, sp.S.NegativeOne), "-", "{0} - {1}", infix=True),
    Rule("mul", 2, lambda a, b: sp.Mul(a, b, evaluate=False), (B, A), "*",
         "{0} {1}", infix=True),
    Rule("div", 2, _div, (1 / B, -A / B**2), "/", r"\frac{{{0}}}{{{1}}}", infix=True,
         expand="a * (1 / b)", domain="a non-zero denominator"),
    Rule("pow", 2, lambda a, b: sp.Pow(a, b, evaluate=False), (B * A**(B - 1), Y * sp.log(A)),
         "**", "{0}^{{{1}}}", infix=True, domain="a positive base for a non-integer power"),
    Rule("neg", 1, _neg, (sp.S.NegativeOne,), "-x", "-{0}", infix=True, short="neg"),
    Rule("exp", 1, sp.exp, (Y,), "exp", r"e^{{{0}}}", short="exp", aliases=_np("exp"),
         sympy_types=(sp.exp,)),
    Rule("log", 1, sp.log, (1 / A,), "log", r"\log {0}", short="log", aliases=_np("log"),
         domain="a positive argument", sympy_types=(sp.log,)),
    Rule("sqrt", 1, sp.sqrt, (1 / (2 * Y),), "sqrt", r"\sqrt{{{0}}}", short="sqrt",
         aliases=_np("sqrt"), domain="a non-negative argument"),
    Rule("sin", 1, sp.sin, (sp.cos(A),), "sin", r"\sin {0}", short="sin", aliases=_np("sin"),
         sympy_types=(sp.sin,)),
    Rule("cos", 1, sp.cos, (-sp.sin(A),), "cos", r"\cos {0}", short="cos", aliases=_np("cos"),
         sympy_types=(sp.cos,)),
    Rule("tanh", 1, sp.tanh, (1 - Y**2,), "tanh", r"\tanh {0}", short="tanh",
         aliases=_np("tanh"), sympy_types=(sp.tanh,)),
    Rule("sigmoid", 1, sigmoid, ((1 - Y) * Y,), "σ", r"\sigma\left({0}\right)", short="sig",
         aliases=("derive.sigmoid",), expand="1 / (1 + exp(-a))", recognize=True,
         sympy_types=(sigmoid,)),
    Rule("relu", 1, relu, (sp.Heaviside(A, 0),), "relu", r"\operatorname{{relu}}\left({0}\right)",
         short="relu", aliases=("derive.relu",), sympy_types=(relu,),
         kink=(A, "relu is not differentiable at 0; derive uses relu'(0) = 0")),
    Rule("abs", 1, sp.Abs, (sp.sign(A),), "abs", r"\left|{0}\right|", short="abs",
         aliases=("math.fabs", "np.abs", "numpy.abs", "np.absolute", "numpy.absolute"),
         sympy_types=(sp.Abs,), kink=(A, "abs is not differentiable at 0; derive uses abs'(0) = 0")),
    Rule("max", 2, maximum, (sp.Heaviside(A - B), sp.Heaviside(B - A)), "max",
         r"\max\left({0}, {1}\right)", short="max", aliases=("np.maximum", "numpy.maximum"),
         sympy_types=(maximum, sp.Max), kink=(A - B, "a tie in max; derive gives each argument half the gradient")),
    Rule("min", 2, minimum, (sp.Heaviside(B - A), sp.Heaviside(A - B)), "min",
         r"\min\left({0}, {1}\right)", short="min", aliases=("np.minimum", "numpy.minimum"),
         sympy_types=(minimum, sp.Min), kink=(A - B, "a tie in min; derive gives each argument half the gradient")),
]}

#: Functions a user may call in an expression string: the table's non-operator rows.
FUNCTIONS = tuple(name for name, r in RULES.items() if not r.infix)

#: Every accepted spelling of a call (``exp``, ``math.exp``, ``np.exp``, ...) -> rule name.
CALL_NAMES = {name: name for name in FUNCTIONS}
CALL_NAMES.update({alias: r.name for r in RULES.values() for alias in r.aliases})

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
    if r.infix:
        a = args[0]
        return {
            "add": lambda: a + args[1], "sub": lambda: a - args[1], "mul": lambda: a * args[1],
            "div": lambda: a / args[1], "pow": lambda: a ** args[1], "neg": lambda: -a,
            "id": lambda: a,
        }[rule_name]()
    if rule_name == "sqrt":
        return sp.sqrt(args[0])
    return r.build(*args)


# ---- arrays --------------------------------------------------------------------------------
# Gates that exist only for NumPy arrays (derive.vector). Elementwise gates on arrays are the
# rows above: their local gradient, printed with NumPy names, times the upstream adjoint.
# Here the rules are NumPy code templates (data, not closures): ``{0}``, ``{1}`` are the
# arguments, ``{y}`` the gate's output, ``{g}`` its adjoint (upstream), ``{axis}`` and ``{kw}``
# the gate's options. A vjp of None means the argument gets no gradient (labels, shapes).
# ``variants`` pick other templates by the arguments' numbers of dimensions ("2,1") or by the
# options ("axis", "keepdims"); without known shapes the 2-D templates are used.


@dataclass(frozen=True)
class ArrayRule:
    """One array gate: its NumPy spelling and the vector-Jacobian product of each argument."""

    name: str
    arity: int
    forward: str              # NumPy template of the forward line's right-hand side
    vjps: tuple               # per argument: template of its adjoint contribution, or None
    short: str = ""           # pattern for generated names ("{0}{1}": W1 @ x -> W1x)
    variants: tuple = ()      # ((key, vjps), ...) chosen by ndims "2,1" or options "axis"
    calls: tuple = ()         # Python spellings that create this gate
    doc: str = ""
    examples: tuple = ()      # (params, body, shapes) that the tests check, one per variant


def _ex(params, body, **shapes):
    return (params, body, shapes)


ARRAY_RULES: dict[str, ArrayRule] = {r.name: r for r in [
    ArrayRule("matmul", 2, "{0} @ {1}", ("{g} @ {1}.T", "{0}.T @ {g}"), "{0}{1}",
              (("2,1", ("np.outer({g}, {1})", "{0}.T @ {g}")),
               ("1,2", ("{g} @ {1}.T", "np.outer({0}, {g})")),
               ("1,1", ("{g} * {1}", "{g} * {0}"))),
              ("np.dot", "numpy.dot", "np.matmul", "numpy.matmul"),
              "matrix product: dA = dY B^T, dB = A^T dY (outer products for vectors)",
              (_ex("A, B", "np.sum(np.tanh(A @ B))", A=(3, 2), B=(2, 4)),
               _ex("A, B", "np.sum(np.tanh(np.dot(A, B)))", A=(3, 2), B=(2,)),
               _ex("A, B", "np.sum(np.tanh(A @ B))", A=(3,), B=(3, 2)),
               _ex("A, B", "np.tanh(A @ B)", A=(3,), B=(3,)))),
    ArrayRule("transpose", 1, "{0}.T", ("{g}.T",), "{0}T", (), ("np.transpose", "numpy.transpose"),
              "transpose: the adjoint is transposed back",
              (_ex("A, B", "np.sum(np.sin(A.T) * B)", A=(2, 3), B=(3, 2)),)),
    ArrayRule("sum", 1, "np.sum({0}{kw})", ("{g} * np.ones_like({0})",), "sum{0}",
              (("axis", ("np.expand_dims({g}, {axis}) * np.ones_like({0})",)),),
              ("np.sum", "numpy.sum"), "sum: the adjoint is copied to every summed element",
              (_ex("A", "np.sum(np.sin(A))", A=(3, 2)),
               _ex("A", "np.sum(np.sin(np.sum(A, axis=1)))", A=(3, 2)),
               _ex("A, B", "np.sum(np.sum(A, axis=0, keepdims=True) * B)", A=(3, 2), B=(2, 2)))),
    ArrayRule("mean", 1, "np.mean({0}{kw})", ("{g} * np.ones_like({0}) / {0}.size",), "mean{0}",
              (("axis", ("np.expand_dims({g}, {axis}) * np.ones_like({0}) / {0}.shape[{axis}]",)),
               ("keepdims", ("{g} * np.ones_like({0}) / {0}.shape[{axis}]",))),
              ("np.mean", "numpy.mean"), "mean: a sum divided by the count",
              (_ex("A", "np.mean(np.sin(A))", A=(3, 2)),
               _ex("A", "np.sum(np.sin(np.mean(A, axis=0)))", A=(3, 2)),
               _ex("A, B", "np.sum(np.mean(A, axis=1, keepdims=True) * B)", A=(3, 2), B=(3, 4)))),
    ArrayRule("norm", 1, "np.linalg.norm({0})", ("({0} / {y}) * {g}",), "norm{0}", (),
              ("np.linalg.norm", "numpy.linalg.norm"), "Euclidean norm: d||x|| = x / ||x||",
              (_ex("A", "np.linalg.norm(np.sin(A))", A=(3, 2)),)),
    ArrayRule("shape", 1, "{0}.shape[{axis}]", (None,), "", (), (),
              "a size (a constant once shapes are known): no gradient",
              (_ex("A", "np.sum(A ** 2) / A.shape[0]", A=(3, 2)),)),
    ArrayRule("onehot", 2, "onehot({0}, {1})", (None, None), "onehot{0}", (),
              ("onehot", "derive.onehot"), "labels as one-hot rows: no gradient",
              (_ex("A, y", "np.sum(onehot(y, A.shape[1]) * np.exp(A))", A=(3, 2), y=(3,)),)),
    ArrayRule("softmax_cross_entropy", 2, "softmax_cross_entropy({0}, {1})",
              ("(softmax({0}) - onehot({1}, {0}.shape[-1])) * {g}", None), "loss", (),
              ("softmax_cross_entropy", "derive.softmax_cross_entropy"),
              "fused softmax + cross-entropy, summed over rows: dscores = probs - onehot(y)",
              (_ex("A, B, y", "softmax_cross_entropy(A @ B, y)", A=(3, 2), B=(2, 4), y=(3,)),
               _ex("A, y", "softmax_cross_entropy(A, y)", A=(3,), y=()))),
]}

#: Array gate spellings (``np.sum``, ``np.dot``, ...) -> array rule name.
ARRAY_CALLS = {alias: r.name for r in ARRAY_RULES.values() for alias in r.calls}

#: The fused softmax-cross-entropy gate in primitive gates (args a = scores, b = labels),
#: for learners who want to see why its backward line is probs - onehot(y).
SOFTMAX_CE_EXPANSION = """\
e = np.exp(a)
s = np.sum(e, axis=-1, keepdims=True)
logs = np.log(s)
logp = a - logs
Y = onehot(b, a.shape[-1])
t = Y * logp
return -np.sum(t)
"""
