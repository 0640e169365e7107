"""Reductions and indexing as classification code uses them: max(dim=1) unpacked into
values and indices, .max(1)[1], argmax, sum / mean with dim and keepdim, boolean masks,
integer-array indexing, torch.where, clamp, per-class counts, a confusion matrix."""

import numpy as np
import torch

rng = np.random.default_rng(15)
logits = torch.from_numpy(rng.normal(size=(12, 4)).astype(np.float32))
targets = torch.from_numpy(rng.integers(0, 4, size=12))
ties = torch.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])

values, indices = logits.max(dim=1)
_, predicted = torch.max(logits, 1)
probs = torch.softmax(logits, dim=-1)

confusion = torch.zeros(4, 4, dtype=torch.long)
for t, p in zip(targets, predicted):
    confusion[t, p] += 1

mask = logits > 0.5
row_mean = logits.mean(dim=1, keepdim=True)

RESULT = {
    "max_values": values.tolist(),
    "max_indices": indices.tolist(),
    "torch_max_matches": torch.equal(predicted, logits.max(1)[1]),
    "argmax": logits.argmax(dim=1).tolist(),
    "argmax_flat": logits.argmax().item(),
    "max_all": logits.max().item(),
    "min_dim0": logits.min(dim=0).values.tolist(),
    "min_dim0_indices": logits.min(dim=0).indices.tolist(),
    "tie_argmax": ties.argmax(dim=1).tolist(),
    "tie_max_indices": ties.max(dim=1)[1].tolist(),
    "correct": (predicted == targets).sum().item(),
    "sum_dim0": logits.sum(dim=0).tolist(),
    "sum_keepdim_shape": list(logits.sum(dim=1, keepdim=True).shape),
    "sum_dims": logits.sum(dim=(0, 1)).item(),
    "mean_centered": (logits - row_mean).sum(dim=1).abs().max().item() < 1e-5,
    "prob_sums": probs.sum(-1).tolist(),
    "masked_count": mask.sum().item(),
    "masked_values": logits[mask][:5].tolist(),
    "rows": logits[torch.tensor([0, 3, 3])][:, 0].tolist(),
    "picked": logits[torch.arange(12), targets].tolist(),
    "column": logits[:, 2].tolist(),
    "last_rows": logits[-2:].shape[0],
    "where": torch.where(logits > 0, logits, torch.zeros_like(logits)).sum().item(),
    "clamp": logits.clamp(min=0).sum().item(),
    "clamp_both": logits.clamp(-0.5, 0.5).abs().max().item(),
    "class_counts": [(targets == k).sum().item() for k in range(4)],
    "confusion": confusion.tolist(),
    "confusion_diagonal": confusion.diag().sum().item(),
    "nonzero_rows": (targets == 2).nonzero().view(-1).tolist(),
    "any_all": [bool(mask.any()), bool(mask.all()), mask.any(dim=1).tolist()],
    "std_var": [logits.std().item(), logits.var(dim=0).tolist()],
}
