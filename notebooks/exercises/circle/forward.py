import math


def circle(t):
    x = math.cos(t)
    y = math.sin(t)
    f = x * y
    return f
