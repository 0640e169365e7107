"""Early stopping: a train/validation split, evaluation under torch.no_grad() in eval mode,
the best model kept with copy.deepcopy (both of the module and of its state_dict), patience,
then the best weights restored with load_state_dict."""

import copy

import numpy as np
import torch
from torch import nn

rng = np.random.default_rng(7)
# few noisy points and a wide network: it overfits within a few dozen epochs
X_np = rng.uniform(-2, 2, size=(60, 1)).astype(np.float32)
y_np = (np.sin(2 * X_np) + rng.normal(0, 0.4, size=X_np.shape)).astype(np.float32)
X_train, y_train = torch.from_numpy(X_np[:40]), torch.from_numpy(y_np[:40])
X_val, y_val = torch.from_numpy(X_np[40:]), torch.from_numpy(y_np[40:])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(1, 64)
        self.out = nn.Linear(64, 1)

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x)))


model = Net()
with torch.no_grad():
    model.hidden.weight.copy_(torch.tensor(rng.normal(0, 1.5, size=(64, 1))))
    model.hidden.bias.copy_(torch.tensor(rng.normal(0, 1.5, size=64)))
    model.out.weight.copy_(torch.tensor(rng.normal(0, 0.2, size=(1, 64))))
    model.out.bias.zero_()

criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.03)


def evaluate(m):
    m.eval()
    with torch.no_grad():
        return criterion(m(X_val), y_val).item()


best_loss, best_epoch, patience, bad_epochs = float("inf"), -1, 8, 0
best_model, best_state = None, None
losses, val_losses = [], []
for epoch in range(150):
    model.train()
    optimizer.zero_grad()
    loss = criterion(model(X_train), y_train)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    val_loss = evaluate(model)
    val_losses.append(val_loss)
    if val_loss < best_loss:
        best_loss, best_epoch, bad_epochs = val_loss, epoch, 0
        best_model = copy.deepcopy(model)
        best_state = copy.deepcopy(model.state_dict())
    else:
        bad_epochs += 1
        if bad_epochs >= patience:
            break

stopped_at = epoch
last_val = evaluate(model)
model.load_state_dict(best_state)

RESULT = {
    "losses": losses,
    "val_losses": val_losses,
    "best_epoch": best_epoch,
    "stopped_at": stopped_at,
    "best_loss": best_loss,
    "last_val_loss": last_val,
    "restored_val_loss": evaluate(model),
    "deepcopy_model_val_loss": evaluate(best_model),
    "deepcopy_is_separate": best_model.hidden.weight is not model.hidden.weight,
    "deepcopy_requires_grad": best_model.hidden.weight.requires_grad,
}
