"""One model, one starting point, several optimizers: SGD, SGD with (Nesterov) momentum,
Adam, AdamW, RMSprop, Adagrad, and SGD with two parameter groups at different rates."""

# ruff: noqa: B007 - tutorial loops name their counters (for epoch in range(...))

import numpy as np
import torch
import torch.nn.functional as F
import torch.optim as optim
from torch import nn

rng = np.random.default_rng(10)
X = torch.from_numpy(rng.normal(size=(100, 5)).astype(np.float32))
y = torch.from_numpy(rng.integers(0, 3, size=100))
init = [rng.normal(0, 0.4, size=s).astype(np.float32) for s in [(16, 5), (16,), (3, 16), (3,)]]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(5, 16)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(F.relu(self.body(x)))


def fresh():
    net = Net()
    with torch.no_grad():
        for p, w in zip(net.parameters(), init):
            p.copy_(torch.tensor(w))
    return net


recipes = {
    "sgd": lambda net: optim.SGD(net.parameters(), lr=0.1),
    "momentum": lambda net: optim.SGD(net.parameters(), lr=0.05, momentum=0.9),
    "nesterov": lambda net: optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda net: optim.Adam(net.parameters(), lr=1e-2, betas=(0.9, 0.99)),
    "adamw": lambda net: optim.AdamW(net.parameters(), lr=1e-2, weight_decay=0.05),
    "rmsprop": lambda net: optim.RMSprop(net.parameters(), lr=3e-3, alpha=0.9),
    "adagrad": lambda net: optim.Adagrad(net.parameters(), lr=0.1),
    "groups": lambda net: optim.SGD(
        [{"params": net.body.parameters()}, {"params": net.head.parameters(), "lr": 0.02}], lr=0.2, momentum=0.5
    ),
}

RESULT = {}
for name, make_optimizer in recipes.items():
    net = fresh()
    optimizer = make_optimizer(net)
    losses = []
    for step in range(25):
        optimizer.zero_grad()
        loss = F.cross_entropy(net(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    RESULT[name] = {
        "losses": losses[::4],  # steps 0, 4, ..., 24
        "body_weight_norm": net.body.weight.norm().item(),
        "head_bias": net.head.bias.tolist(),
    }
RESULT["losses"] = RESULT["adam"]["losses"]
RESULT["group_lrs"] = [g["lr"] for g in optimizer.param_groups]
