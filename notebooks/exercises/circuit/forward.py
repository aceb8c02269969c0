def circuit(x, y, z, w):
    xy = x * y
    maxzw = max(z, w)
    s = xy + maxzw
    f = 2 * s
    return f
