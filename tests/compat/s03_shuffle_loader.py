"""DataLoader(shuffle=True, generator=torch.Generator().manual_seed(...)): the two
frameworks draw different orders from their generators, so only order-free facts are
reported (every epoch a permutation, rows kept with their labels, a reseeded generator
repeating its order, the batch sizes), and a training run on shuffled batches learns."""

# ruff: noqa: B007 - tutorial loops name their counters (for epoch in range(...))

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

N = 26
X = torch.arange(2 * N, dtype=torch.float32).view(N, 2)  # row i is [2i, 2i + 1]
index = torch.arange(N)
dataset = TensorDataset(X, index)

loader = DataLoader(dataset, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(0))
orders, batch_sizes, pairs_kept = [], [], True
for epoch in range(3):
    order = []
    for xb, ib in loader:
        batch_sizes.append(len(ib))
        order += ib.tolist()
        pairs_kept = pairs_kept and bool((xb[:, 0] == 2 * ib).all())
    orders.append(order)

again = DataLoader(dataset, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(0))
first_order_again = [i for _, ib in again for i in ib.tolist()]
dropping = DataLoader(dataset, batch_size=8, shuffle=True, drop_last=True, generator=torch.Generator().manual_seed(1))

# training on shuffled minibatches still learns (the numbers depend on the order, so only
# the comparison of the first and last epoch is reported)
rng = np.random.default_rng(3)
features = rng.normal(size=(200, 5)).astype(np.float32)
targets = (features @ rng.normal(size=(5, 1))).astype(np.float32)
train_loader = DataLoader(
    TensorDataset(torch.from_numpy(features), torch.from_numpy(targets)),
    batch_size=20,
    shuffle=True,
    generator=torch.Generator().manual_seed(42),
)
torch.manual_seed(0)
model = nn.Linear(5, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
epoch_losses = []
for epoch in range(5):
    running = 0.0
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        optimizer.step()
        running += loss.item()
    epoch_losses.append(running / len(train_loader))

RESULT = {
    "dataset_len": len(dataset),
    "item_3": [t.tolist() for t in dataset[3]],
    "num_batches": len(loader),
    "batch_sizes": batch_sizes,
    "each_epoch_a_permutation": all(sorted(o) == list(range(N)) for o in orders),
    "shuffled": orders[0] != list(range(N)),
    "epochs_differ": orders[0] != orders[1] and orders[1] != orders[2],
    "pairs_kept": pairs_kept,
    "reseeded_repeats_order": first_order_again == orders[0],
    "drop_last_batch_sizes": [len(xb) for xb, _ in dropping],
    "shuffled_training_learns": epoch_losses[-1] < 0.2 * epoch_losses[0],
}
