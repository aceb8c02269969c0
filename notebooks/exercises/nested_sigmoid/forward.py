import math


def nested_sigmoid(x):
    s1 = 1 / (1 + math.exp(-x))
    s2 = 1 / (1 + math.exp(-s1))
    s3 = 1 / (1 + math.exp(-s2))
    return s3
