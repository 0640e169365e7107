"""Custom modules: nested submodules, nn.ModuleList, an nn.Parameter of one's own, a
registered buffer, a residual block, model.apply(init_fn) with isinstance checks,
named_parameters / state_dict names, parameter counts, children and modules."""

# ruff: noqa: B007 - tutorial loops name their counters (for epoch in range(...))

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class Residual(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc = nn.Linear(dim, dim)

    def forward(self, x):
        return x + F.relu(self.fc(x))


class Net(nn.Module):
    def __init__(self, n_in, dim, n_out, depth):
        super().__init__()
        self.inp = nn.Linear(n_in, dim)
        self.blocks = nn.ModuleList([Residual(dim) for _ in range(depth)])
        self.scale = nn.Parameter(torch.ones(1))
        self.register_buffer("mean", torch.zeros(n_in))
        self.head = nn.Linear(dim, n_out)

    def forward(self, x):
        x = self.inp(x - self.mean)
        for block in self.blocks:
            x = block(x)
        return self.head(x) * self.scale


rng = np.random.default_rng(18)
X = torch.from_numpy(rng.normal(1.0, 1.0, size=(90, 3)).astype(np.float32))
y = torch.from_numpy(rng.integers(0, 2, size=90))

model = Net(3, 10, 2, depth=2)
model.mean.copy_(X.mean(dim=0))


def init_weights(m):
    if isinstance(m, nn.Linear):
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(rng.normal(0, 0.3, size=m.weight.shape).astype(np.float32)))
        nn.init.constant_(m.bias, 0.01)


model.apply(init_weights)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
losses = []
for epoch in range(20):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(X), y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())

RESULT = {
    "losses": losses,
    "scale": model.scale.item(),
    "param_names": [name for name, _ in model.named_parameters()],
    "state_keys": list(model.state_dict().keys()),
    "buffer_names": [name for name, _ in model.named_buffers()],
    "num_params": sum(p.numel() for p in model.parameters()),
    "num_trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
    "children": [type(m).__name__ for m in model.children()],
    "modules": len(list(model.modules())),
    "mean_has_no_grad": model.mean.grad is None and not model.mean.requires_grad,
    "bias_sums": [m.bias.sum().item() for m in model.modules() if isinstance(m, nn.Linear)],
    "is_parameter": [isinstance(model.scale, nn.Parameter), isinstance(model.mean, nn.Parameter)],
}
