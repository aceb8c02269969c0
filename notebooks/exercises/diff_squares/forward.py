def diff_squares(x, y):
    s = x + y
    d = x - y
    g = s * d
    return g
