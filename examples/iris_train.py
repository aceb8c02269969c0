"""Train the iris network with derive's generated backward code and plot the loss curve.

Run: ``python examples/iris_train.py [steps] [out.png]``. The network (one ReLU hidden layer,
softmax/cross-entropy) is written as plain NumPy in ``derive.iris.NETWORK``; derive stages
it, prints the forward and backward lines, and every gradient descent step calls the
generated code (``prog.run``). The iris data ships with derive (derive/data/iris.csv).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # a checkout

from derive.teach.iris import NETWORK, plot_losses, train

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 300
out = sys.argv[2] if len(sys.argv) > 2 else "iris_loss.png"

print(NETWORK)
run = train(hidden=16, rate=0.5, steps=steps, seed=0)
print(run.program)
print()
for k in (0, 9, 49, 99, steps - 1):
    if k < steps:
        print(f"step {k + 1:4d}  loss {run.losses[k]:.4f}")
print(f"training accuracy: {run.accuracy:.1%} (150 flowers)")
plot_losses(run, out)
print(f"loss curve: {out}")
