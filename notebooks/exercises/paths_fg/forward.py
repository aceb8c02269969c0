def paths_fg(x):
    f = x**2
    g = 3 * x
    h = f * g
    return h
