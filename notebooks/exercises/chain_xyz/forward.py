def chain_xyz(x, y, z):
    q = x + y
    f = q * z
    return f
