def square_chain(x, y, z):
    q = x * y
    s = q + z
    f = s**2
    return f
