"""The PyTorch quickstart's loop: nn.Sequential, DataLoader(TensorDataset(...)) without
shuffling, the model and each batch moved .to(device), Adam, train()/eval(), running loss
weighted by batch size, test accuracy."""

# ruff: noqa: B007 - tutorial loops name their counters (for epoch in range(...))

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(1)
# a curved decision boundary in 2-D
X_np = rng.uniform(-1, 1, size=(400, 2)).astype(np.float32)
y_np = (X_np[:, 1] > 0.5 * np.sin(3 * X_np[:, 0])).astype(np.int64)

train_data = TensorDataset(torch.from_numpy(X_np[:320]), torch.from_numpy(y_np[:320]))
test_data = TensorDataset(torch.from_numpy(X_np[320:]), torch.from_numpy(y_np[320:]))
train_dataloader = DataLoader(train_data, batch_size=32, shuffle=False)
test_dataloader = DataLoader(test_data, batch_size=50)

device = "cuda" if torch.cuda.is_available() else "cpu"
model = nn.Sequential(
    nn.Linear(2, 32),
    nn.Tanh(),
    nn.Linear(32, 32),
    nn.ReLU(),
    nn.Linear(32, 2),
).to(device)
with torch.no_grad():
    for name, param in model.named_parameters():
        param.copy_(torch.tensor(rng.normal(0, 0.4, size=tuple(param.shape)), dtype=torch.float32, device=device))

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)


def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    total = 0.0
    for X, y in dataloader:
        X, y = X.to(device), y.to(device)
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        total += loss.item() * X.size(0)
    return total / size


def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    return test_loss / num_batches, correct / size


losses, test_losses, test_accuracies = [], [], []
for t in range(8):
    losses.append(train(train_dataloader, model, loss_fn, optimizer))
    test_loss, accuracy = test(test_dataloader, model, loss_fn)
    test_losses.append(test_loss)
    test_accuracies.append(accuracy)

RESULT = {
    "losses": losses,
    "test_losses": test_losses,
    "test_accuracies": test_accuracies,
    "num_batches": [len(train_dataloader), len(test_dataloader)],
    "param_names": [name for name, _ in model.named_parameters()],
    "param_norms": [p.norm().item() for p in model.parameters()],
}
