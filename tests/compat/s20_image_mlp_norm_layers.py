"""A typical image MLP: nn.Flatten over (N, 1, 8, 8) inputs, BatchNorm1d (batch statistics
in train mode, running statistics in eval mode), LayerNorm, Dropout(p=0), CrossEntropyLoss
with SGD momentum; BatchNorm's buffers appear in the state_dict, and a fresh model loaded
from it predicts the same."""

# ruff: noqa: B007 - tutorial loops name their counters (for epoch in range(...))

import numpy as np
import torch
from torch import nn

rng = np.random.default_rng(20)
images = torch.from_numpy(rng.normal(size=(64, 1, 8, 8)).astype(np.float32))
labels = torch.from_numpy(rng.integers(0, 5, size=64))
# make the classes separable: shift each image by its label
images += labels.view(-1, 1, 1, 1).float() * 0.3



def make_model():
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 32),
        nn.BatchNorm1d(32),
        nn.ReLU(),
        nn.Dropout(0.0),
        nn.Linear(32, 16),
        nn.LayerNorm(16),
        nn.ReLU(),
        nn.Linear(16, 5),
    )


model = make_model()
# the Linear layers start from NumPy's numbers (the norm layers start at ones and zeros)
with torch.no_grad():
    for layer in model:
        if isinstance(layer, nn.Linear):
            layer.weight.copy_(torch.from_numpy(rng.normal(0, 0.2, size=layer.weight.shape).astype(np.float32)))
            layer.bias.copy_(torch.from_numpy(rng.normal(0, 0.1, size=layer.bias.shape).astype(np.float32)))

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
losses = []
model.train()
for epoch in range(12):
    for xb, yb in zip(images.split(16), labels.split(16)):
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
    losses.append(loss.item())

bn = model[2]
bn_weight_grad_norm = bn.weight.grad.norm().item()
model.eval()
with torch.no_grad():
    eval_logits = model(images)
    eval_loss = loss_fn(eval_logits, labels).item()
    accuracy = (eval_logits.argmax(1) == labels).float().mean().item()
    train_mode_logits = model.train()(images)  # batch statistics again (and one more running update)
    model.eval()

# the trained model saved and loaded into a fresh one: the running statistics travel in the
# state_dict, so the reloaded model predicts the same in eval mode
reloaded = make_model()
reloaded.load_state_dict(model.state_dict())
reloaded.eval()
with torch.no_grad():
    reloaded_same = torch.allclose(reloaded(images), model(images))

RESULT = {
    "losses": losses,
    "eval_loss": eval_loss,
    "accuracy": accuracy,
    "running_mean_sum": bn.running_mean.sum().item(),
    "running_var_sum": bn.running_var.sum().item(),
    "num_batches_tracked": bn.num_batches_tracked.item(),
    "bn_weight_grad_norm": bn_weight_grad_norm,
    "train_mode_logit_sum": train_mode_logits.sum().item(),
    "eval_differs_from_train_mode": not torch.allclose(eval_logits, train_mode_logits),
    "reloaded_predicts_the_same": reloaded_same,
    "reloaded_batches_tracked": reloaded[2].num_batches_tracked.item(),
    "state_keys": list(model.state_dict().keys()),
    "flatten_shape": list(model[0](images).shape),
    "layernorm_weight_norm": model[6].weight.norm().item(),
}
