"""Gradient clipping and weight decay: clip_grad_norm_ (its returned total norm),
clip_grad_value_, SGD with weight_decay and momentum, AdamW's decoupled weight decay."""

import numpy as np
import torch
from torch import nn

rng = np.random.default_rng(9)
X = torch.from_numpy(rng.normal(size=(80, 4)).astype(np.float32))
# targets far from the initial outputs: the first gradients are large and get clipped
y = torch.from_numpy((5 * rng.normal(size=(80, 1)) + 10).astype(np.float32))
init = [rng.normal(0, 0.5, size=s).astype(np.float32) for s in [(8, 4), (8,), (1, 8), (1,)]]


def make_model():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    with torch.no_grad():
        for p, w in zip(model.parameters(), init):
            p.copy_(torch.from_numpy(w))
    return model


def train(model, optimizer, clip, steps=20):
    losses, norms = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(X), y)
        loss.backward()
        if clip == "norm":
            norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0).item())
        elif clip == "value":
            torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
            norms.append(max(p.grad.abs().max().item() for p in model.parameters()))
        optimizer.step()
        losses.append(loss.item())
    return losses, norms, sum(p.pow(2).sum() for p in model.parameters()).item()


model = make_model()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-2)
sgd_losses, sgd_norms, sgd_sq = train(model, optimizer, "norm")
model = make_model()
value_losses, value_max, value_sq = train(model, torch.optim.SGD(model.parameters(), lr=0.05, weight_decay=1e-3), "value")
model = make_model()
adamw_losses, _, adamw_sq = train(model, torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.1), None)
model = make_model()
adam_l2_losses, _, adam_l2_sq = train(model, torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=0.1), None)

RESULT = {
    "losses": sgd_losses,
    "total_norms_before_clipping": sgd_norms,
    "clip_value_losses": value_losses,
    "max_abs_grad_after_value_clip": value_max,
    "adamw_losses": adamw_losses,
    "adam_l2_losses": adam_l2_losses,
    "squared_param_norms": [sgd_sq, value_sq, adamw_sq, adam_l2_sq],
}
