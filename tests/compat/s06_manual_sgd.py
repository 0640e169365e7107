"""Gradient descent by hand, twice: the "Learning PyTorch with Examples" polynomial fit
(0-d tensors with requires_grad, updates under torch.no_grad(), grad = None), then a
Linear layer updated through .data (p.data -= lr * p.grad) with model.zero_grad()."""

# ruff: noqa: B007 - tutorial loops name their counters (for epoch in range(...))

import math

import numpy as np
import torch
from torch import nn

rng = np.random.default_rng(6)
dtype = torch.float

x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
y = torch.sin(x)

a, b, c, d = (torch.tensor(v, dtype=dtype, requires_grad=True) for v in rng.normal(size=4))

learning_rate = 1e-6
poly_losses = []
for t in range(60):
    y_pred = a + b * x + c * x**2 + d * x**3
    loss = (y_pred - y).pow(2).sum()
    poly_losses.append(loss.item())
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

# the same features fed to a Linear layer, updated through .data
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)
model = nn.Linear(3, 1)
model.weight.data = torch.from_numpy(rng.normal(0, 0.1, size=(1, 3)).astype(np.float32))
model.bias.data.fill_(0.0)
loss_fn = nn.MSELoss(reduction="sum")
lr = 1e-6
losses = []
for t in range(60):
    y_pred = model(xx).view(-1)
    loss = loss_fn(y_pred, y)
    losses.append(loss.item())
    model.zero_grad()
    loss.backward()
    for param in model.parameters():
        param.data -= lr * param.grad

RESULT = {
    "poly_losses": poly_losses,
    "poly": [a.item(), b.item(), c.item(), d.item()],
    "a_is_leaf": a.is_leaf,
    "xx_shape": list(xx.shape),
    "xx_row_1": xx[1].tolist(),
    "xx_is_float": xx.dtype == torch.float32,
    "losses": losses,
    "weight": model.weight.tolist(),
    "bias": model.bias.item(),
    "weight_requires_grad": model.weight.requires_grad,
}
