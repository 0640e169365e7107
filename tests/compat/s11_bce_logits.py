"""Binary classification: one logit per example, BCEWithLogitsLoss on labels turned into
floats (labels.float()), pos_weight, sigmoid > 0.5 predictions, unsqueeze/squeeze."""

# ruff: noqa: B007 - tutorial loops name their counters (for epoch in range(...))

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

rng = np.random.default_rng(11)
X = torch.from_numpy(rng.normal(size=(200, 3)).astype(np.float32))
labels = torch.from_numpy((rng.normal(size=200) + X.numpy() @ np.array([1.5, -2.0, 0.5]) > 0).astype(np.int64))


class LogisticMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))

    def forward(self, x):
        return self.layers(x)


model = LogisticMLP()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, size=p.shape).astype(np.float32)))

criterion = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.5]))
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)

losses = []
for epoch in range(40):
    logits = model(X)
    loss = criterion(logits, labels.float().unsqueeze(1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())

with torch.no_grad():
    logits = model(X).squeeze(1)
    probs = torch.sigmoid(logits)
    preds = (probs > 0.5).long()
    accuracy = (preds == labels).float().mean().item()
    plain = F.binary_cross_entropy_with_logits(logits, labels.float()).item()
    per_example = F.binary_cross_entropy_with_logits(logits, labels.float(), reduction="none")

RESULT = {
    "losses": losses,
    "accuracy": accuracy,
    "positives_predicted": preds.sum().item(),
    "unweighted_loss": plain,
    "per_example_first": per_example[:4].tolist(),
    "per_example_shape": list(per_example.shape),
    "probs_first": probs[:4].tolist(),
    "preds_dtype_is_int64": preds.dtype == torch.int64,
    "label_mean": labels.float().mean().item(),
}
