import math


def fxy(x, y):
    sigy = 1.0 / (1 + math.exp(-y))  # sigmoid in numerator   #(1)
    num = x + sigy  # numerator                               #(2)
    sigx = 1.0 / (1 + math.exp(-x))  # sigmoid in denominator #(3)
    xpy = x + y                                               #(4)
    xpysqr = xpy**2                                           #(5)
    den = sigx + xpysqr  # denominator                        #(6)
    invden = 1.0 / den                                        #(7)
    f = num * invden  # done!                                 #(8)
    return f
