"""Shape idioms: view / reshape (with -1), permute, transpose, contiguous, unsqueeze /
squeeze, cat / stack, flatten, size() / shape / dim() / numel(), chunk / split, expand,
and a batch of matrices reshaped through a training step."""

import numpy as np
import torch
from torch import nn

rng = np.random.default_rng(13)
x = torch.arange(24)
a = x.view(2, 3, 4)
b = a.permute(2, 0, 1)
c = a.transpose(0, 1)
batch = torch.from_numpy(rng.normal(size=(6, 4, 5)).astype(np.float32))

pieces = torch.arange(10).float().chunk(3)
parts = torch.arange(10).split([3, 7])

# a model that reads images as flattened rows: (N, 4, 5) -> (N, 20)
model = nn.Linear(20, 2)
with torch.no_grad():
    model.weight.copy_(torch.from_numpy(rng.normal(0, 0.3, size=(2, 20)).astype(np.float32)))
    model.bias.fill_(0.1)
flat = batch.view(batch.size(0), -1)
out = model(flat)
loss = out.pow(2).mean()
loss.backward()

RESULT = {
    "view_shape": list(a.shape),
    "view_2_1": a[1, 2].tolist(),
    "reshape_minus_one": list(x.reshape(4, -1).shape),
    "permute_shape": list(b.shape),
    "permute_values": b[3, 1].tolist(),
    "permute_contiguous": b.is_contiguous(),
    "contiguous_view": b.contiguous().view(-1)[:6].tolist(),
    "transpose_row": c[2, 1].tolist(),
    "T": torch.arange(6).view(2, 3).T.tolist(),
    "unsqueeze": [list(x.unsqueeze(0).shape), list(x.unsqueeze(-1).shape), list(a.unsqueeze(1).shape)],
    "squeeze": list(torch.zeros(1, 3, 1, 2).squeeze().shape),
    "squeeze_dim": list(torch.zeros(1, 3, 1, 2).squeeze(2).shape),
    "cat0": list(torch.cat([a, a], dim=0).shape),
    "cat_last": torch.cat([x[:2], x[-2:]]).tolist(),
    "stack": list(torch.stack([x, x, x]).shape),
    "stack_dim1": torch.stack([x[:3], x[3:6]], dim=1).tolist(),
    "flatten": list(a.flatten(1).shape),
    "flatten_all": a.flatten()[-3:].tolist(),
    "size": [list(a.size()), a.size(-1), a.dim(), a.numel(), len(a)],
    "shape_is_tuple": a.shape == (2, 3, 4),
    "chunks": [p.tolist() for p in pieces],
    "split": [len(p) for p in parts],
    "expand": torch.tensor([[1], [2]]).expand(2, 3).tolist(),
    "flat_shape": list(flat.shape),
    "out": out.tolist(),
    "grad_shape": list(model.weight.grad.shape),
    "grad_sum": model.weight.grad.sum().item(),
}
