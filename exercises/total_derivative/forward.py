# l(x) = h(f(x), g(x)); `hg = g * g` keeps the g-path its own gate (g**2 would be
# shared with f = x**2, since g = x), so the learner's dhf, dhg, df line up with the key.
def ell(x):
    f = x**2
    g = x
    hf = f**2
    hg = g * g
    l = hf + hg
    return l
