def product4(x, y, z, w):
    p1 = x * y
    p2 = p1 * z
    f = p2 * w
    return f
