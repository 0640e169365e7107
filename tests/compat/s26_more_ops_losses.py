"""Ops and losses that MLP code reaches for beyond the basics: one-hot targets built with
scatter_, per-class sums with index_add and bincount, einsum for a bilinear score,
cumsum/logcumsumexp, clamp with tensor bounds, where(cond) indices, unique with counts,
normalize/cosine_similarity, and a regression trained with SmoothL1Loss / HuberLoss, a
KLDivLoss distillation step and a label-ranking MarginRankingLoss."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

rng = np.random.default_rng(26)
labels = torch.from_numpy(rng.integers(0, 4, size=12))
one_hot = torch.zeros(12, 4).scatter_(1, labels.unsqueeze(1), 1.0)
values = torch.from_numpy(rng.normal(size=12).astype(np.float32))
per_class = torch.zeros(4).index_add(0, labels, values)
counts = torch.bincount(labels, minlength=4)
uniq, inverse, uniq_counts = torch.unique(labels, sorted=True, return_inverse=True, return_counts=True)

a = torch.from_numpy(rng.normal(size=(5, 3)).astype(np.float32))
b = torch.from_numpy(rng.normal(size=(5, 3)).astype(np.float32))
W = torch.from_numpy(rng.normal(size=(3, 3)).astype(np.float32))
bilinear = torch.einsum("ni,ij,nj->n", a, W, b)
low, high = torch.full((5, 3), -0.5), torch.full((5, 3), 0.5)
clamped = a.clamp(min=low, max=high)
rows, cols = torch.where(a > 0.5)

# regression with the robust losses, from the same start
X = torch.from_numpy(rng.normal(size=(64, 2)).astype(np.float32))
y = X.sum(dim=1, keepdim=True) + torch.from_numpy(rng.standard_t(2, size=(64, 1)).astype(np.float32))
init = [torch.from_numpy(rng.normal(0, 0.3, size=s).astype(np.float32)) for s in [(8, 2), (8,), (1, 8), (1,)]]


def fit(loss_fn, steps=40):
    model = nn.Sequential(nn.Linear(2, 8), nn.SiLU(), nn.Linear(8, 1))
    with torch.no_grad():
        for p, v in zip(model.parameters(), init):
            p.copy_(v)
    opt = torch.optim.NAdam(model.parameters(), lr=0.05)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        opt.step()
        out.append(loss.item())
    return out


smooth_l1 = fit(nn.SmoothL1Loss(beta=0.5))
huber = fit(nn.HuberLoss(delta=1.5))

# distillation: a student's log-probabilities against a teacher's probabilities
teacher_logits = torch.from_numpy(rng.normal(size=(16, 4)).astype(np.float32))
student = nn.Linear(4, 4)
with torch.no_grad():
    student.weight.copy_(torch.eye(4) * 0.5)
    student.bias.zero_()
feats = torch.from_numpy(rng.normal(size=(16, 4)).astype(np.float32))
kl = nn.KLDivLoss(reduction="batchmean")(F.log_softmax(student(feats) / 2.0, dim=1),
                                          F.softmax(teacher_logits / 2.0, dim=1))
kl.backward()

# ranking: a score that should order pairs
s1, s2 = torch.from_numpy(rng.normal(size=8).astype(np.float32)).requires_grad_(), torch.zeros(8)
target = torch.from_numpy(np.where(rng.random(8) < 0.5, 1.0, -1.0).astype(np.float32))
rank = nn.MarginRankingLoss(margin=0.2)(s1, s2, target)
rank.backward()

RESULT = {
    "one_hot_rows_sum": one_hot.sum(dim=1).tolist(),
    "one_hot_matches": torch.equal(one_hot.argmax(dim=1), labels),
    "per_class": per_class.tolist(),
    "counts": counts.tolist(),
    "unique": uniq.tolist(),
    "inverse_ok": torch.equal(uniq[inverse], labels),
    "unique_counts": uniq_counts.tolist(),
    "cumsum": values.cumsum(0).tolist(),
    "logcumsumexp_last": values.logcumsumexp(0)[-1].item(),
    "logsumexp": values.logsumexp(0).item(),
    "bilinear": bilinear.tolist(),
    "clamped_sum": clamped.sum().item(),
    "where_rows": rows.tolist(),
    "where_cols": cols.tolist(),
    "cosine": F.cosine_similarity(a, b, dim=1).tolist(),
    "normalized_norms": F.normalize(a, dim=1).norm(dim=1).tolist(),
    "losses": smooth_l1,
    "huber_losses": huber,
    "kl": kl.item(),
    "kl_grad_norm": student.weight.grad.norm().item(),
    "rank": rank.item(),
    "rank_grad": s1.grad.tolist(),
}
