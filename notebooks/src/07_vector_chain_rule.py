md(r"""
# 7. The vector chain rule

*The derive course, notebook 7.* Real networks compute with vectors and matrices. Everything
from the scalar notebooks carries over; what changes is bookkeeping: local gradients become
**Jacobian matrices**, "multiply by the upstream gradient" becomes a matrix product, and you have to
keep track of shapes and transposes. This notebook shows the Jacobians once, in full, and then why
backpropagation never builds them.

Seeds: the discussion sheet, problem 1(d)-(e); the total-derivative article, sections 2.0.2 and 3;
the CS231n notes, *Gradients for vectorized operations*.
""")

code(r"""
import numpy as np
import sympy as sp
from IPython.display import Math, display

from derive import stage
from derive.symbolic.chainrule import text_table, vector_chain, vector_table
from derive.exercises import check as check_exercise, get as get_exercise
from derive.symbolic.jacobians import central_differences
""")

md(r"""
## Jacobians

For a function $\mathbf{f}: \mathbb{R}^n \to \mathbb{R}^m$ the **Jacobian** stacks the gradients of
its $m$ outputs as rows: entry $(i, j)$ is $\partial f_i / \partial x_j$. The chain rule for
compositions of vector functions is the product of Jacobians,

$$\frac{\partial \ell}{\partial \mathbf{x}} = \frac{\partial \ell}{\partial \mathbf{x}_4}\,
\frac{\partial \mathbf{x}_4}{\partial \mathbf{x}_3}\,\frac{\partial \mathbf{x}_3}{\partial \mathbf{x}_2}\,
\frac{\partial \mathbf{x}_2}{\partial \mathbf{x}_1}\,\frac{\partial \mathbf{x}_1}{\partial \mathbf{x}},$$

and each matrix product is a *total derivative* (notebook 6): entry $j$ of the result sums over
every intermediate component through which $x_j$ reaches $\ell$.

Take the discussion sheet's two-layer loss, with a sigmoid as the nonlinearity $\Phi$:

$$\ell = \tfrac12 \lVert W_2\, \sigma(W_1 \mathbf{x} + \mathbf{b}) - \mathbf{y} \rVert^2 :\quad
\mathbf{x}_1 = W_1\mathbf{x} + \mathbf{b},\ \mathbf{x}_2 = \sigma(\mathbf{x}_1),\
\mathbf{x}_3 = W_2 \mathbf{x}_2,\ \mathbf{x}_4 = \mathbf{x}_3 - \mathbf{y},\ \ell = \tfrac12\lVert\mathbf{x}_4\rVert^2 .$$

At $d = 2$ derive writes every Jacobian out with explicit symbols (SymPy computes each from its stage
alone):
""")

code(r"""
chain = vector_chain(2)
for name, J in chain.jacobians:
    display(Math(r"\text{" + name.replace("^T", "ᵀ") + r":}\qquad " + sp.latex(J)))
""")

md(r"""
Three patterns to remember:

* an **affine map** $W\mathbf{a} + \mathbf{b}$ has Jacobian $W$ with respect to $\mathbf{a}$;
* an **elementwise** activation has a **diagonal** Jacobian: output $i$ depends only on input $i$,
  so all off-diagonal entries are zero, and the diagonal holds the scalar local gradients
  $\sigma'(z_i) = \sigma(z_i)(1 - \sigma(z_i))$;
* the squared norm $\tfrac12\lVert \mathbf{r}\rVert^2$ has gradient $\mathbf{r}^T$.

Their product equals `sympy.diff` of the loss written out component by component:
""")

code(r"""
print("product of the Jacobians == sympy.diff of the component-wise loss:", chain.equal)
print("shape of the product:", chain.product.shape)
""", check=True)

md(r"""
## Backpropagation never builds a Jacobian

A diagonal $d \times d$ matrix has $d^2$ entries of which $d$ are non-zero; multiplying a vector by it
is just an elementwise product. The Jacobian of $W\mathbf{x}$ with respect to the matrix $W$ is even
worse: a $d \times d \times d$ tensor, almost all zeros. So backpropagation multiplies the *upstream
gradient* (a vector or matrix the shape of the variable) directly by what each Jacobian would do
to it: a **vector-Jacobian product**. derive stages the loss written with NumPy, one array operation
per line, and generates those products:
""")

code(r'''
sheet_loss = get_exercise("two_layer").spec.source  # the graded exercise's forward pass, one source
print(sheet_loss)
prog = stage(sheet_loss)
d = 4
print(prog.with_shapes(W1=(d, d), b=(d,), W2=(d, d), x=(d,), y=(d,)).to_text())
''', check=True)

md(r"""
Read the backward pass against the Jacobians above:

* `dx1 = (a*(1 - a)) * dx2`: the diagonal Jacobian, applied as an **elementwise** product;
* `dx2 = W2.T @ dx3`: multiplying by the Jacobian $W_2$ from the left side of a row vector is the
  transpose on a column vector. This matrix product *is* the total derivative: every $x_{2,j}$
  feeds every component of $\mathbf{x}_3$, and the product sums all those paths;
* `dW2 = np.outer(dx3, a)` and `dW1 = np.outer(dW1x, x)`: the gradient with respect to a weight
  matrix is an **outer product** of the upstream gradient and the layer's input (the sheet's
  $\frac{\partial \ell}{\partial W^{(1)}} = \mathbf{x}\,\frac{\partial \ell}{\partial \mathbf{x}^{(1)}}$,
  arranged in $W$'s shape);
* `db = dx1`: a bias is added, so it receives the upstream gradient unchanged.

The shape comment on each line is derive's bookkeeping: every gradient has exactly the shape of its
variable. Run it with random numbers (seeded) and compare with central differences of the value:
""")

code(r"""
rng = np.random.default_rng(0)
arrays = dict(W1=rng.normal(size=(d, d)), b=rng.normal(size=d), W2=rng.normal(size=(d, d)),
              x=rng.normal(size=d), y=rng.normal(size=d))
r = prog.run(**arrays)
numeric = central_differences(prog, arrays)
for name, g in r.grad.items():
    agree = np.allclose(g, numeric[name], rtol=1e-6, atol=1e-8)
    print(f"d{name:2s} shape {str(g.shape):7s} agrees with central differences: {agree}")
""", check=True)

md(r"""
## The matrix-multiply gradient and dimension analysis

CS231n's most important vectorised rule: for $D = W X$ with $W$ of shape $5 \times 10$ and $X$ of
shape $10 \times 3$, given the upstream gradient `dD` (shape $5 \times 3$),

```python
dW = dD.dot(X.T)
dX = W.T.dot(dD)
```

To stage that with derive we need a function that ends in a number and gives `D` the upstream
gradient `dD`: $\sum_{ij} D_{ij}\, G_{ij}$ does exactly that, with $G$ playing `dD`.
""")

code(r'''
matmul = stage("""
def f(W, X, G):
    D = W @ X
    return np.sum(D * G)
""")
print(matmul.with_shapes(W=(5, 10), X=(10, 3), G=(5, 3)).to_text())
''', check=True)

md(r"""
There they are: `dW = dD @ X.T` and `dX = W.T @ dD`. The notes' advice: **use dimension analysis**.
`dW` must have the shape of `W`, $5 \times 10$; it must be a product involving `dD` ($5 \times 3$) and
`X` ($10 \times 3$); the only way to make $5 \times 10$ from those is `dD @ X.T`. derive checks shapes
line by line when it specialises a program; a layer with a mismatch is refused:
""")

code(r"""
from derive import DeriveError

try:
    matmul.with_shapes(W=(5, 10), X=(9, 3), G=(5, 3))
except DeriveError as err:
    print("derive:", err)
""", check=True)

md(r"""
## Batches: a sum appears

With a batch of $N$ examples as rows of $X$ ($N \times 4$), a layer is `X @ W + b`: the bias vector
is *broadcast* to every row. In the backward pass every row sends gradient to the same $\mathbf{b}$,
so the contributions add up: a total derivative again, which derive writes as a sum over the batch
axis:
""")

code(r'''
batch_layer = stage("""
def layer(X, W, b):
    h = np.tanh(X @ W + b)
    return np.sum(h)
""")
print(batch_layer.with_shapes(X=(32, 4), W=(4, 8), b=(8,)).backward_code())
''', check=True)

md(r"""
## What it costs

Writing the gradient component by component (a scalar function of every entry of $W_1$, $\mathbf{b}$,
$W_2$, $\mathbf{x}$) makes it grow quickly with $d$, while the vectorised program is the one printed
above for every $d$: its forward plus backward lines, counted from that program (`vector_lines`).
(Columns: the number of scalar inputs; the size of SymPy's component-wise gradient, raw and after
`cse`; the scalar staged program, forward plus backward lines and operations; the vectorised program.)
""")

code(r"""
rows = vector_table(range(2, 5), budget=30)
vec = prog.with_shapes(W1=(d, d), b=(d,), W2=(d, d), x=(d,), y=(d,))  # the program printed above
for row in rows:
    row["vector_lines"] = len(vec.forward) + len(vec.backward)
print(text_table(rows, ["d", "inputs", "symbolic_ops", "cse_ops", "staged_lines", "staged_ops", "vector_lines"]))
""", check=True)

md(r"""
## Exercises

1. What is the Jacobian of $\mathbf{z} = W\mathbf{a} + \mathbf{b}$ with respect to $\mathbf{b}$? What
   does that make `db`?
2. By dimension analysis only: for $D = W X$ with $W$ of shape $3 \times 7$ and $X$ of shape
   $7 \times 2$, write `dX` in terms of `W` and `dD`. Check your shapes with derive.
3. Replace $\sigma$ by $\tanh$ in the sheet's loss. Which single backward line changes, and how?
4. In the batch layer, why does `db` need a sum but `dW` does not?

### Your turn: graded cells

NumPy backward passes, graded by derive's checker at the example point and two random ones (it
recognises a swapped or missing transpose, and a missing local gradient). Replace each
`raise NotImplementedError` and run the cell; untouched, a cell says "not attempted".

5. CS231n's matrix multiply: `backward(W, X, dD)` for $D = WX$ returns `(dW, dX)`.
6. The discussion sheet's two-layer loss $\tfrac12\lVert W_2\,\sigma(W_1 \mathbf{x} + \mathbf{b}) -
   \mathbf{y}\rVert^2$, with the exercise's names `z1`, `a`, `z2`, `r` (the program printed above):
   write `dr`, `dz2`, `dW2`, `da`, `dz1`, `db`, `dW1`, `dx` and return `(dW1, db, dW2, dx)`.
7. A batch linear layer $D = XW + \mathbf{b}$ ($X$ holds one example per row) with upstream `dD`:
   return `(dX, dW, db)`.
""")

graded(r"""
def backward(W, X, dD):
    # forward pass (given)
    D = W @ X
    # BEGIN SOLUTION
    dW = dD @ X.T
    dX = W.T @ dD
    # END SOLUTION
    return dW, dX


check_exercise("matmul", backward)
""")

graded(r"""
def backward(W1, b, W2, x, y):
    # forward pass (given), the names of the exercise file
    z1 = W1 @ x + b
    a = 1 / (1 + np.exp(-z1))
    z2 = W2 @ a
    r = z2 - y
    l = 0.5 * np.sum(r**2)
    # backward pass: dr, dz2, dW2, da, dz1, db, dW1, dx
    # BEGIN SOLUTION
    dr = r
    dz2 = dr
    dW2 = np.outer(dz2, a)
    da = W2.T @ dz2
    dz1 = a * (1 - a) * da
    db = dz1
    dW1 = np.outer(dz1, x)
    dx = W1.T @ dz1
    # END SOLUTION
    return dW1, db, dW2, dx


check_exercise("two_layer", backward)
""")

graded(r"""
def backward(X, W, b, dD):
    # forward pass (given)
    XW = X @ W
    D = XW + b
    # BEGIN SOLUTION
    dXW = dD
    db = np.sum(dD, axis=0)
    dX = dXW @ W.T
    dW = X.T @ dXW
    # END SOLUTION
    return dX, dW, db


check_exercise("exercises/linear_batch", backward)
""")

md(r"""
Answers to 1-3, revealed by derive:
""")

code(r'''
print("1. identity; derive writes:", [ln for ln in prog.with_shapes(
    W1=(d, d), b=(d,), W2=(d, d), x=(d,), y=(d,)).backward_code().split("\n") if ln.startswith("db")])
print("2.")
print(matmul.with_shapes(W=(3, 7), X=(7, 2), G=(3, 2)).backward_code())
tanh_prog = stage(sheet_loss.replace("sigmoid(z1)", "np.tanh(z1)"))
print("3.", [ln for ln in tanh_prog.with_shapes(W1=(d, d), b=(d,), W2=(d, d), x=(d,), y=(d,))
             .backward_code().split("\n") if ln.startswith("dz1 ")])
''', check=True, reveal=True)

md(r"""
4: `W` is multiplied by the whole batch in one matrix product, and the matrix product already sums
over the batch rows (`X.T @ dZ`); `b` is broadcast, and broadcasting in the forward pass becomes a sum
in the backward pass.

**Next:** [8. A network end to end](08-network-end-to-end.ipynb).
""")
