def sub_chain(x, y, z):
    q = x - y
    f = q * z
    return f
