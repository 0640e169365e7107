"""An imbalanced data set: random_split into train/validation (by lengths and by fractions,
with a seeded Generator), class weights from bincount, a WeightedRandomSampler that
over-samples the rare class, a DataLoader on it, and a weighted CrossEntropyLoss. Random
draws differ between frameworks, so for those only facts that do not depend on the draws
are reported; the validation metrics come from the same split indices on both (a fixed
Subset), trained on the full training set in order."""

# ruff: noqa: B007 - tutorial loops name their counters (for epoch in range(...))

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Subset, TensorDataset, WeightedRandomSampler, random_split

rng = np.random.default_rng(23)
n = 200
labels_np = (rng.random(n) < 0.1).astype(np.int64)  # about one in ten is class 1
features_np = rng.normal(size=(n, 3)).astype(np.float32) + 1.5 * labels_np[:, None].astype(np.float32)
dataset = TensorDataset(torch.from_numpy(features_np), torch.from_numpy(labels_np))

generator = torch.Generator().manual_seed(42)
train_part, val_part = random_split(dataset, [150, 50], generator=generator)
a, b, c = random_split(dataset, [0.5, 0.3, 0.2], generator=torch.Generator().manual_seed(1))
split_facts = {
    "lengths": [len(train_part), len(val_part)],
    "fraction_lengths": [len(a), len(b), len(c)],
    "disjoint_and_complete": sorted(train_part.indices + val_part.indices) == list(range(n)),
    "fractions_complete": sorted(list(a.indices) + list(b.indices) + list(c.indices)) == list(range(n)),
}

# the sampler: one weight per sample, the inverse of its class's frequency
train_labels = dataset.tensors[1][torch.tensor(train_part.indices)]
class_counts = torch.bincount(train_labels, minlength=2)
class_weights = 1.0 / class_counts.float()
sample_weights = class_weights[train_labels]
sampler = WeightedRandomSampler(sample_weights, num_samples=2000, replacement=True,
                                generator=torch.Generator().manual_seed(7))
drawn = torch.tensor(list(sampler))
drawn_labels = train_labels[drawn]
rare_share = drawn_labels.float().mean().item()
loader = DataLoader(train_part, batch_size=25, sampler=WeightedRandomSampler(sample_weights, 150))
first_batch = next(iter(loader))

# training in a fixed order (the same on both frameworks): the first 150 samples
fixed_train = Subset(dataset, list(range(150)))
fixed_val = Subset(dataset, list(range(150, 200)))
model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.4, size=p.shape).astype(np.float32)))
fixed_labels = torch.stack([fixed_train[i][1] for i in range(len(fixed_train))])
weights = 1.0 / torch.bincount(fixed_labels, minlength=2).float()
criterion = nn.CrossEntropyLoss(weight=weights / weights.sum())
optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
losses = []
for epoch in range(15):
    for xb, yb in DataLoader(fixed_train, batch_size=30):
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    losses.append(loss.item())

with torch.no_grad():
    xv, yv = next(iter(DataLoader(fixed_val, batch_size=50)))
    predicted = model(xv).argmax(dim=1)
    recall_rare = ((predicted == 1) & (yv == 1)).sum().item() / max(1, (yv == 1).sum().item())
    accuracy = (predicted == yv).float().mean().item()

RESULT = {
    **split_facts,
    "class_counts_sum": int(class_counts.sum().item()),
    "sampler_len": len(sampler),
    "sampler_draws_in_range": drawn.min().item() >= 0 and drawn.max().item() < 150,
    "rare_class_balanced": 0.4 < rare_share < 0.6,
    "loader_batch_shapes": [list(first_batch[0].shape), list(first_batch[1].shape)],
    "losses": losses,
    "val_accuracy": accuracy,
    "val_recall_rare": recall_rare,
}
