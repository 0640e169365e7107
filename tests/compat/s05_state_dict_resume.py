"""Checkpointing in memory: copy.deepcopy of model and optimizer state_dicts (and a StepLR
scheduler's), resuming into fresh objects (the resumed run matches the uninterrupted one),
state_dict keys and shapes, a live state_dict following training, load_state_dict(strict=False)."""

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

rng = np.random.default_rng(5)
X = torch.from_numpy(rng.normal(size=(96, 6)).astype(np.float32))
y = torch.from_numpy(rng.integers(0, 4, size=96))
init = {
    "0.weight": rng.normal(0, 0.4, size=(12, 6)),
    "0.bias": np.zeros(12),
    "2.weight": rng.normal(0, 0.4, size=(4, 12)),
    "2.bias": np.zeros(4),
}


def make():
    model = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 4))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.7)
    return model, optimizer, scheduler


def train(model, optimizer, scheduler, steps):
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(X), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses


model, optimizer, scheduler = make()
# state_dict values are float64 arrays turned into tensors: load_state_dict copies them
# into the float32 parameters
model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
first = train(model, optimizer, scheduler, 10)

checkpoint = {
    "model": copy.deepcopy(model.state_dict()),
    "optimizer": copy.deepcopy(optimizer.state_dict()),
    "scheduler": scheduler.state_dict(),
    "epoch": 10,
}
live = model.state_dict()  # not a copy: it shares memory with the parameters
uninterrupted = train(model, optimizer, scheduler, 10)

resumed_model, resumed_optimizer, resumed_scheduler = make()
resumed_model.load_state_dict(checkpoint["model"])
resumed_optimizer.load_state_dict(checkpoint["optimizer"])
resumed_scheduler.load_state_dict(checkpoint["scheduler"])
resumed = train(resumed_model, resumed_optimizer, resumed_scheduler, 10)

partial = {"0.weight": checkpoint["model"]["0.weight"]}
missing, unexpected = make()[0].load_state_dict(partial, strict=False)

RESULT = {
    "losses": first + uninterrupted,
    "resumed_losses": resumed,
    "resume_max_param_diff": max(
        (a - b).abs().max().item() for a, b in zip(model.parameters(), resumed_model.parameters())
    ),
    "keys": list(checkpoint["model"].keys()),
    "shapes": [list(v.shape) for v in checkpoint["model"].values()],
    "checkpoint_is_a_copy": not torch.equal(checkpoint["model"]["0.weight"], model[0].weight.detach()),
    "live_state_follows_training": torch.equal(live["0.weight"], model[0].weight.detach()),
    "optimizer_state_keys": sorted(checkpoint["optimizer"].keys()),
    "optimizer_lr": checkpoint["optimizer"]["param_groups"][0]["lr"],
    "scheduler_epoch": checkpoint["scheduler"]["last_epoch"],
    "final_lrs": [scheduler.get_last_lr()[0], resumed_scheduler.get_last_lr()[0]],
    "missing_keys": missing,
    "unexpected_keys": unexpected,
    "still_float32_after_load": resumed_model[0].weight.dtype == torch.float32,
}
