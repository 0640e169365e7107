"""Autograd as the PyTorch tutorials show it: requires_grad, backward on a scalar, .grad,
gradients accumulating over two backward calls, grad.zero_(), retain_graph, detach,
requires_grad_(), torch.autograd.grad, backward(gradient) of a vector, no_grad and
is_leaf / grad_fn, .numpy() of a detached tensor."""

import numpy as np
import torch

x = torch.ones(2, 2, requires_grad=True)
y = x + 2
z = y * y * 3
out = z.mean()
out.backward()
first_grad = x.grad.tolist()

# a second backward adds into .grad
out2 = (x * x).sum()
out2.backward(retain_graph=True)
accumulated = x.grad.tolist()
x.grad.zero_()
out2.backward()
after_zero = x.grad.tolist()

w = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
v = w * 2
v.backward(torch.tensor([0.1, 1.0, 0.0001]))

a = torch.tensor([2.0, 3.0], requires_grad=True)
b = a.detach()
c = torch.tensor([4.0, 5.0]).requires_grad_()
(ga,) = torch.autograd.grad((a**3).sum(), a)
(gc,) = torch.autograd.grad((a * c).sum(), [c])

with torch.no_grad():
    nograd = a * 2

rng = np.random.default_rng(19)
W = torch.from_numpy(rng.normal(size=(3, 2)).astype(np.float32)).requires_grad_(True)
inputs = torch.from_numpy(rng.normal(size=(4, 3)).astype(np.float32))
loss = torch.sigmoid(inputs @ W).sum()
loss.backward()

RESULT = {
    "y_has_grad_fn": y.grad_fn is not None,
    "x_is_leaf": [x.is_leaf, y.is_leaf],
    "first_grad": first_grad,
    "accumulated": accumulated,
    "after_zero": after_zero,
    "vector_backward": w.grad.tolist(),
    "detach": [b.requires_grad, b.is_leaf],
    "requires_grad_": c.requires_grad,
    "autograd_grad": [ga.tolist(), gc.tolist()],
    "leaves_untouched_by_autograd_grad": a.grad is None,
    "no_grad_result": [nograd.requires_grad, nograd.grad_fn is None],
    "W_grad": W.grad.tolist(),
    "numpy_sum": float(W.detach().numpy().sum()),
}

# detach() shares memory: writing into the detached tensor changes the original
b[0] = 10.0
RESULT["detach_shares_memory"] = a.tolist()
