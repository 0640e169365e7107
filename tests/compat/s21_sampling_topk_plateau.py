"""More of what training scripts call: manual minibatches from torch.randperm, top-k
accuracy with topk, sort, nn.Sigmoid + nn.BCELoss, ReduceLROnPlateau driven by a validation
loss, torch.multinomial sampling. Random orders and draws differ between frameworks, so for
those only facts that do not depend on the draws are reported."""

# ruff: noqa: B007 - tutorial loops name their counters (for epoch in range(...))

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau

torch.manual_seed(0)
rng = np.random.default_rng(21)

perm = torch.randperm(10)
batches = [perm[i : i + 4] for i in range(0, 10, 4)]

scores = torch.from_numpy(rng.normal(size=(8, 5)).astype(np.float32))
targets = torch.from_numpy(rng.integers(0, 5, size=8))
top_values, top_indices = scores.topk(2, dim=1)
top2_correct = (top_indices == targets.unsqueeze(1)).any(dim=1).sum().item()
sorted_values, order = torch.sort(scores[0], descending=True)

X = torch.from_numpy(rng.normal(size=(50, 2)).astype(np.float32))
y = (X[:, :1] > 0).float()
model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
with torch.no_grad():
    model[0].weight.copy_(torch.tensor([[0.1, -0.2]]))
    model[0].bias.zero_()
optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
scheduler = ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=1)
criterion = nn.BCELoss()
losses, lrs = [], []
plateau = [1.0, 0.9, 0.95, 0.97, 0.96, 0.8, 0.85, 0.86, 0.9]  # a validation loss that stalls
for epoch, val_loss in enumerate(plateau):
    optimizer.zero_grad()
    loss = criterion(model(X), y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    scheduler.step(val_loss)
    lrs.append(optimizer.param_groups[0]["lr"])

probs = torch.tensor([0.1, 0.0, 0.6, 0.3])
draws = torch.multinomial(probs, num_samples=200, replacement=True)

RESULT = {
    "randperm_is_permutation": sorted(perm.tolist()) == list(range(10)),
    "randperm_kind": perm.dtype == torch.int64,
    "batch_sizes": [len(b) for b in batches],
    "top_values": top_values.tolist(),
    "top_indices": top_indices.tolist(),
    "top2_correct": top2_correct,
    "sorted": sorted_values.tolist(),
    "order": order.tolist(),
    "losses": losses,
    "plateau_lrs": lrs,
    "multinomial_shape": list(draws.shape),
    "multinomial_never_draws_zero_probability": not (draws == 1).any().item(),
    "multinomial_in_range": draws.min().item() >= 0 and draws.max().item() <= 3,
}
