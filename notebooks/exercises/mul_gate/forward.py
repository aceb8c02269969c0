def mul_gate(x, y):
    f = x * y
    return f
