"""Regression with MSELoss: targets reshaped with view(-1, 1), Adam, a held-out R^2 computed
with mean() and var() (unbiased by default), reduction="sum" and a manual mean square."""

# ruff: noqa: B007 - tutorial loops name their counters (for epoch in range(...))

import numpy as np
import torch
from torch import nn

rng = np.random.default_rng(12)
x = rng.uniform(-3, 3, size=300).astype(np.float32)
t = (0.5 * x**2 - x + rng.normal(0, 0.3, size=300)).astype(np.float32)
X = torch.from_numpy(x).view(-1, 1)
Y = torch.from_numpy(t).view(-1, 1)
X_train, X_test, Y_train, Y_test = X[:240], X[240:], Y[:240], Y[240:]

model = nn.Sequential(nn.Linear(1, 24), nn.Tanh(), nn.Linear(24, 24), nn.Tanh(), nn.Linear(24, 1))
with torch.no_grad():
    for layer in model:
        if isinstance(layer, nn.Linear):
            layer.weight.copy_(torch.from_numpy(rng.normal(0, 0.6, size=layer.weight.shape).astype(np.float32)))
            layer.bias.copy_(torch.from_numpy(rng.normal(0, 0.1, size=layer.bias.shape).astype(np.float32)))

criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
losses = []
for epoch in range(60):
    pred = model(X_train)
    loss = criterion(pred, Y_train)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())

model.eval()
with torch.no_grad():
    pred = model(X_test)
    mse = criterion(pred, Y_test).item()
    sse = nn.MSELoss(reduction="sum")(pred, Y_test).item()
    manual = torch.mean((pred - Y_test) ** 2).item()
    r2 = 1 - mse / Y_test.var(unbiased=False).item()
    unbiased_var = Y_test.var().item()

RESULT = {
    "losses": losses,
    "test_mse": mse,
    "test_sse": sse,
    "manual_mse": manual,
    "r2": r2,
    "target_var_unbiased": unbiased_var,
    "pred_shape": list(pred.shape),
    "first_preds": pred[:3, 0].tolist(),
}
