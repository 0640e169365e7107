"""Early stopping as tutorials write it: a train/validation split of a regression problem,
Adam, ReduceLROnPlateau on the validation loss (threshold, cooldown, min_lr), the best
weights kept with copy.deepcopy(model.state_dict()), training stopped once the validation
loss has not improved for `patience` epochs, and the best weights loaded back at the end."""

import copy

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau

rng = np.random.default_rng(22)
X = rng.normal(size=(120, 4)).astype(np.float32)
w_true = np.array([[1.5], [-2.0], [0.5], [0.0]], dtype=np.float32)
y = X @ w_true + 0.3 * np.sin(3 * X[:, :1]) + rng.normal(0, 0.4, size=(120, 1)).astype(np.float32)
X_train, y_train = torch.from_numpy(X[:80]), torch.from_numpy(y[:80])
X_val, y_val = torch.from_numpy(X[80:]), torch.from_numpy(y[80:])

model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.5, size=p.shape).astype(np.float32)))

optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
scheduler = ReduceLROnPlateau(optimizer, mode="min", factor=0.3, patience=2, threshold=1e-2,
                              threshold_mode="rel", cooldown=1, min_lr=1e-3)
criterion = nn.MSELoss()

best_val, best_epoch, best_state = float("inf"), -1, None
patience, bad_epochs = 6, 0
train_losses, val_losses, lrs = [], [], []
for epoch in range(200):
    model.train()
    for start in range(0, 80, 20):
        optimizer.zero_grad()
        loss = criterion(model(X_train[start : start + 20]), y_train[start : start + 20])
        loss.backward()
        optimizer.step()
    train_losses.append(loss.item())

    model.eval()
    with torch.no_grad():
        val_loss = criterion(model(X_val), y_val).item()
    val_losses.append(val_loss)
    scheduler.step(val_loss)
    lrs.append(optimizer.param_groups[0]["lr"])

    if val_loss < best_val:
        best_val, best_epoch, bad_epochs = val_loss, epoch, 0
        best_state = copy.deepcopy(model.state_dict())
    else:
        bad_epochs += 1
        if bad_epochs >= patience:
            break

stopped_at = epoch
model.load_state_dict(best_state)
with torch.no_grad():
    restored_val = criterion(model(X_val), y_val).item()

RESULT = {
    "losses": train_losses,
    "val_losses": val_losses,
    "lrs": lrs,
    "stopped_at": stopped_at,
    "best_epoch": best_epoch,
    "best_val": best_val,
    "restored_val_equals_best": abs(restored_val - best_val) <= 1e-6 * max(1.0, best_val),
    "num_bad_epochs": scheduler.num_bad_epochs,
    "scheduler_last_lr": scheduler.get_last_lr(),
}
