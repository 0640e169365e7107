"""An IterableDataset streaming samples from a generator, split between two worker
processes with get_worker_info (the pattern of PyTorch's documentation), trained on with
Adam; a ChainDataset of two streams; the loader's length from the dataset's __len__."""

# ruff: noqa: B007 - tutorial loops name their counters (for epoch in range(...))

import math

import numpy as np
import torch
from torch import nn
from torch.utils.data import ChainDataset, DataLoader, IterableDataset, get_worker_info


class BlobStream(IterableDataset):
    def __init__(self, start, end, seed):
        self.start, self.end, self.seed = start, end, seed
        rng = np.random.default_rng(seed)
        self.centres = rng.normal(0, 2, size=(3, 5)).astype(np.float32)

    def __len__(self):
        return self.end - self.start

    def __iter__(self):
        start, end = self.start, self.end
        worker = get_worker_info()
        if worker is not None:  # each worker its own contiguous part of the range
            per_worker = int(math.ceil((end - start) / worker.num_workers))
            start = start + worker.id * per_worker
            end = min(start + per_worker, end)
        for index in range(start, end):
            rng = np.random.default_rng(self.seed * 1000 + index)
            label = int(rng.integers(0, 3))
            features = self.centres[label] + rng.normal(0, 0.8, size=5).astype(np.float32)
            yield torch.from_numpy(features), label


stream = BlobStream(0, 90, seed=28)
parallel = DataLoader(stream, batch_size=12, num_workers=2)
serial = DataLoader(stream, batch_size=12)


def train(loader):
    model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3))
    rng = np.random.default_rng(3)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=p.shape).astype(np.float32)))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    losses, order = [], []
    for epoch in range(3):
        for features, labels in loader:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(features), labels)
            loss.backward()
            optimizer.step()
            if epoch == 0:
                order.append(labels.tolist())
        losses.append(loss.item())
    return losses, order


losses, parallel_order = train(parallel)
serial_losses, serial_order = train(serial)
chained = DataLoader(ChainDataset([BlobStream(0, 10, seed=1), BlobStream(0, 7, seed=2)]), batch_size=4,
                     drop_last=True)
chained_batches = [labels.tolist() for _, labels in chained]

RESULT = {
    "losses": losses,
    "serial_losses": serial_losses,
    "parallel_batch_labels": parallel_order,
    "same_samples_as_serial": sorted(x for b in parallel_order for x in b) == sorted(
        x for b in serial_order for x in b),
    "batches": len(parallel),
    "batches_drop_last": len(DataLoader(stream, batch_size=12, drop_last=True)),
    "chained_batch_labels": chained_batches,
}
