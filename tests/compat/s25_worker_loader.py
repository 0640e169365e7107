"""A map-style Dataset whose __getitem__ does its own work (feature noise from a per-index
NumPy generator), loaded by worker processes: num_workers=2, a worker_init_fn,
persistent_workers, prefetch_factor; batches come back in order, so training matches a
single-process loader batch for batch. get_worker_info tells each worker its id."""

# ruff: noqa: B007 - tutorial loops name their counters (for epoch in range(...))

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, get_worker_info


class NoisyBlobs(Dataset):
    def __init__(self, n):
        rng = np.random.default_rng(25)
        self.labels = rng.integers(0, 3, size=n)
        self.centres = rng.normal(0, 2, size=(3, 4)).astype(np.float32)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        noise = np.random.default_rng(1000 + index).normal(0, 0.7, size=4).astype(np.float32)
        features = torch.from_numpy(self.centres[self.labels[index]] + noise)
        worker = get_worker_info()
        return features, int(self.labels[index]), -1 if worker is None else worker.id


def seed_worker(worker_id):
    np.random.seed(worker_id)


dataset = NoisyBlobs(96)
parallel = DataLoader(dataset, batch_size=16, num_workers=2, worker_init_fn=seed_worker,
                      persistent_workers=True, prefetch_factor=2)
serial = DataLoader(dataset, batch_size=16)


def train(loader):
    model = nn.Sequential(nn.Linear(4, 10), nn.ReLU(), nn.Linear(10, 3))
    rng = np.random.default_rng(7)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=p.shape).astype(np.float32)))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    losses, workers = [], set()
    for epoch in range(4):
        for features, labels, worker_ids in loader:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(features), labels)
            loss.backward()
            optimizer.step()
            workers.update(worker_ids.tolist())
        losses.append(loss.item())
    return losses, sorted(workers)


losses, parallel_workers = train(parallel)
serial_losses, serial_workers = train(serial)
first = next(iter(parallel))

RESULT = {
    "losses": losses,
    "same_as_single_process": losses == serial_losses,
    "parallel_worker_ids": parallel_workers,
    "serial_worker_ids": serial_workers,
    "batches_per_epoch": len(parallel),
    "label_dtype_is_int64": first[1].dtype == torch.int64,
    "feature_shape": list(first[0].shape),
}
