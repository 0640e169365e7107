"""An MLP classifier as an nn.Module subclass: CrossEntropyLoss, full-batch SGD, softmax
probabilities, argmax accuracy and evaluation under torch.no_grad()."""

# ruff: noqa: B007 - tutorial loops name their counters (for epoch in range(...))

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

rng = np.random.default_rng(0)

# three Gaussian blobs in 4-D
centers = rng.normal(0, 2, size=(3, 4))
labels = rng.integers(0, 3, size=300)
points = centers[labels] + rng.normal(0, 1, size=(300, 4))
X = torch.tensor(points, dtype=torch.float32)
y = torch.tensor(labels)  # int64, as class targets must be


class MLP(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.fc2 = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        return self.fc2(x)


torch.manual_seed(0)
model = MLP(4, 16, 3)
# the same starting point in every framework: NumPy's numbers replace the random init
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.5, size=p.shape).astype(np.float32)))

criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

losses = []
for epoch in range(30):
    optimizer.zero_grad()
    logits = model(X)
    loss = criterion(logits, y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())

model.eval()
with torch.no_grad():
    logits = model(X)
    probs = F.softmax(logits, dim=1)
    pred = logits.argmax(dim=1)
    accuracy = (pred == y).float().mean().item()

RESULT = {
    "losses": losses,
    "accuracy": accuracy,
    "correct": (pred == y).sum().item(),
    "prob_row_sums": probs.sum(dim=1)[:5].tolist(),
    "first_probs": probs[0].tolist(),
    "logits_require_grad": logits.requires_grad,
    "fc1_weight_sum": model.fc1.weight.sum().item(),
    "fc2_bias": model.fc2.bias.tolist(),
}
