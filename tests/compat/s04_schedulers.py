"""Learning-rate schedules: StepLR with SGD momentum and CosineAnnealingLR with Adam
stepped once per epoch, OneCycleLR (which also cycles SGD's momentum) stepped once per
batch; the learning rates are read back with get_last_lr() and from param_groups."""

# ruff: noqa: B007 - tutorial loops name their counters (for epoch in range(...))

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR, OneCycleLR, StepLR

rng = np.random.default_rng(4)
X = torch.from_numpy(rng.normal(size=(128, 3)).astype(np.float32))
y = torch.sin(X.sum(dim=1, keepdim=True))
init = [rng.normal(0, 0.5, size=s).astype(np.float32) for s in [(16, 3), (16,), (1, 16), (1,)]]


def make_model():
    model = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1))
    with torch.no_grad():
        for p, w in zip(model.parameters(), init):
            p.copy_(torch.from_numpy(w))
    return model


def run(make_optimizer, make_scheduler, epochs, per_batch=False):
    model = make_model()
    optimizer = make_optimizer(model.parameters())
    scheduler = make_scheduler(optimizer)
    loss_fn = nn.MSELoss()
    lrs, momenta, losses = [], [], []
    for epoch in range(epochs):
        for xb, yb in zip(X.split(32), y.split(32)):
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            if per_batch:
                scheduler.step()
                lrs.append(scheduler.get_last_lr()[0])
                momenta.append(optimizer.param_groups[0]["momentum"])
        if not per_batch:
            scheduler.step()
            lrs.append(optimizer.param_groups[0]["lr"])
        losses.append(loss.item())
    return {"lrs": lrs, "momenta": momenta, "losses": losses, "weight_norm": model[0].weight.norm().item()}


step = run(
    lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda opt: StepLR(opt, step_size=4, gamma=0.5),
    epochs=12,
)
cosine = run(
    lambda ps: torch.optim.Adam(ps, lr=0.02),
    lambda opt: CosineAnnealingLR(opt, T_max=10, eta_min=1e-3),
    epochs=12,
)
one_cycle = run(
    lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9),
    lambda opt: OneCycleLR(opt, max_lr=0.2, total_steps=24),
    epochs=6,
    per_batch=True,
)

RESULT = {
    "losses": step["losses"],
    "step": step,
    "cosine": cosine,
    "one_cycle": one_cycle,
}
