def logistic2(x):
    o1 = 1 - x
    p1 = x * o1
    l1 = 4 * p1
    o2 = 1 - l1
    p2 = l1 * o2
    l2 = 4 * p2
    return l2
