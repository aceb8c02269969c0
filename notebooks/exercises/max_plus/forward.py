def max_plus(x, y):
    m = max(x, y)
    f = m + x
    return f
