"""LBFGS on a small least-squares problem and on a small MLP fit, with the closure the
optimizer calls as many times as its line search needs; without a line search and with
line_search_fn="strong_wolfe". Reports the loss after each outer step."""

import numpy as np
import torch
from torch import nn

rng = np.random.default_rng(24)
X = torch.from_numpy(rng.normal(size=(40, 3)).astype(np.float64))
w_true = torch.tensor([[2.0], [-1.0], [0.5]], dtype=torch.float64)
y = X @ w_true + 0.1 * torch.from_numpy(rng.normal(size=(40, 1)))

# least squares: a linear model in float64
linear = nn.Linear(3, 1).double()
with torch.no_grad():
    linear.weight.zero_()
    linear.bias.zero_()
optimizer = torch.optim.LBFGS(linear.parameters(), lr=1, max_iter=20, history_size=10,
                              line_search_fn="strong_wolfe")
calls = 0


def closure():
    global calls
    calls += 1
    optimizer.zero_grad()
    loss = ((linear(X) - y) ** 2).mean()
    loss.backward()
    return loss


linear_losses = [optimizer.step(closure).item() for _ in range(3)]
linear_calls = calls

# a small MLP fit of a smooth curve (float32), plain LBFGS steps (no line search)
xs = torch.linspace(-2, 2, 50).unsqueeze(1)
ys = torch.sin(2 * xs) * 0.8
mlp = nn.Sequential(nn.Linear(1, 12), nn.Tanh(), nn.Linear(12, 1))
with torch.no_grad():
    for p in mlp.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.6, size=p.shape).astype(np.float32)))
mlp_opt = torch.optim.LBFGS(mlp.parameters(), lr=0.5, max_iter=10)
loss_fn = nn.MSELoss()


def mlp_closure():
    mlp_opt.zero_grad()
    loss = loss_fn(mlp(xs), ys)
    loss.backward()
    return loss


losses = [mlp_opt.step(mlp_closure).item() for _ in range(5)]
state = mlp_opt.state_dict()["state"][0]

RESULT = {
    "linear_losses": linear_losses,
    "linear_closure_calls": linear_calls,
    "weight": linear.weight.detach().flatten().tolist(),
    "bias": linear.bias.item(),
    "losses": losses,
    "func_evals": state["func_evals"],
    "n_iter": state["n_iter"],
    "final_loss": loss_fn(mlp(xs), ys).item(),
}
