def fork_xy(x, y):
    a = x * y
    b = a + x
    f = b * y
    return f
