"""model.train() / model.eval() with Dropout: a network with Dropout(p=0.0) trains to the
same numbers, and with Dropout(p=0.5) only what does not depend on the random draws is
reported (eval mode is the identity, train mode zeroes about half and scales the rest by
2, the training flags propagate to submodules, F.dropout follows self.training)."""

# ruff: noqa: B007 - tutorial loops name their counters (for epoch in range(...))

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(0)
rng = np.random.default_rng(8)
X = torch.from_numpy(rng.normal(size=(64, 10)).astype(np.float32))
y = torch.from_numpy(rng.integers(0, 3, size=64))
w1 = rng.normal(0, 0.3, size=(32, 10)).astype(np.float32)
w2 = rng.normal(0, 0.3, size=(3, 32)).astype(np.float32)


def make(p):
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(p), nn.Linear(32, 3))
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(w1))
        model[0].bias.zero_()
        model[3].weight.copy_(torch.from_numpy(w2))
        model[3].bias.zero_()
    return model


model = make(0.0)
optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.5)
losses = []
for epoch in range(25):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(X), y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())

dropped = make(0.5)
hidden = dropped[1](dropped[0](X)).detach()  # what the Dropout layer receives
dropped.eval()
with torch.no_grad():
    eval_out = dropped(X)
    eval_is_identity = torch.allclose(eval_out, dropped[3](hidden), atol=1e-6)
    eval_repeats = torch.equal(eval_out, dropped(X))
dropped.train()
kept = dropped[2](hidden)
alive = hidden > 0
zeroed = ((kept == 0) & alive).sum().item() / alive.sum().item()
scaled = torch.allclose(kept[kept != 0], 2 * hidden[kept != 0])


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)

    def forward(self, x):
        return self.fc(F.dropout(x, p=0.5, training=self.training))


clf = Classifier()
clf.eval()
eval_same = torch.equal(clf(X), clf(X))
clf.train()
train_differs = not torch.equal(clf(X), clf(X))

RESULT = {
    "losses": losses,
    "final_weight_norm": model[3].weight.norm().item(),
    "eval_is_identity": eval_is_identity,
    "eval_repeats": eval_repeats,
    "about_half_zeroed": 0.35 < zeroed < 0.65,
    "survivors_scaled_by_2": scaled,
    "flags_after_eval": [m.training for m in (dropped.eval(), dropped[2])],
    "flags_after_train": [m.training for m in (dropped.train(), dropped[2])],
    "functional_dropout_eval_same": eval_same,
    "functional_dropout_train_differs": train_differs,
}
