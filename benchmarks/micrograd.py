"""A minimal micrograd-style ``Value`` tape: the classic teaching engine, as a timing peer.

Every operation makes a ``Value`` that remembers its parents and a closure that pushes its
gradient back; ``backward()`` sorts the tape topologically (iteratively) and runs the closures
in reverse. This is what derive's generated code is compared with on scalar functions.
"""
from __future__ import annotations

import math


class Value:
    """A scalar on the tape."""

    __slots__ = ("data", "grad", "_prev", "_backward")

    def __init__(self, data, prev=()):
        self.data = data
        self.grad = 0.0
        self._prev = prev
        self._backward = None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, k):
        out = Value(self.data ** k, (self,))

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    def _unary(self, y, dy):
        out = Value(y, (self,))

        def _backward():
            self.grad += dy * out.grad
        out._backward = _backward
        return out

    def exp(self):
        e = math.exp(self.data)
        return self._unary(e, e)

    def log(self):
        return self._unary(math.log(self.data), 1.0 / self.data)

    def tanh(self):
        t = math.tanh(self.data)
        return self._unary(t, 1.0 - t * t)

    def sigmoid(self):
        s = 1.0 / (1.0 + math.exp(-self.data))
        return self._unary(s, s * (1.0 - s))

    def relu(self):
        return self._unary(max(self.data, 0.0), float(self.data > 0))

    def sin(self):
        return self._unary(math.sin(self.data), math.cos(self.data))

    def cos(self):
        return self._unary(math.cos(self.data), -math.sin(self.data))

    def __neg__(self):
        return self * -1.0

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return other * self ** -1

    def backward(self):
        topo, seen, stack = [], set(), [(self, False)]
        while stack:
            v, done = stack.pop()
            if done:
                topo.append(v)
            elif id(v) not in seen:
                seen.add(id(v))
                stack.append((v, True))
                stack.extend((p, False) for p in v._prev if id(p) not in seen)
        self.grad = 1.0
        for v in reversed(topo):
            if v._backward is not None:
                v._backward()


def _call(name):
    return lambda v: getattr(v, name)() if isinstance(v, Value) else getattr(Value(v), name)().data


#: Functions for running a printed forward pass on Values.
NAMESPACE = {name: _call(name) for name in ("exp", "log", "tanh", "sigmoid", "relu", "sin", "cos")}


def grad(f):
    """``grad(f)(*params)`` -> the gradient of f for each parameter (lists for list parameters)."""
    def g(*params):
        vals = [[Value(x) for x in p] if isinstance(p, list) else Value(p) for p in params]
        f(*vals).backward()
        return tuple([v.grad for v in p] if isinstance(p, list) else p.grad for p in vals)
    return g
