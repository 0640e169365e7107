"""Heteroscedastic regression: a Gaussian output unit that predicts its own noise.

y = sin(3x) + noise whose standard deviation grows with |x|. The network outputs a mean
and a raw precision per input; precision = softplus(raw) keeps it positive, and the loss
is the Gaussian negative log likelihood. After training, the predicted standard deviation
follows the true one.
"""

import math

import numpy as np

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.nn import functional as NF


def true_std(x):
    return 0.05 + 0.4 * np.abs(x)


def main(steps=2000, seed=0, verbose=True):
    gg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (1024, 1))
    y = np.sin(3 * x) + rng.standard_normal(x.shape) * true_std(x)
    xt, yt = gg.tensor(x, dtype=gg.float32), gg.tensor(y, dtype=gg.float32)
    body = nn.Sequential(nn.Linear(1, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh())
    head = nn.GaussianHead(64, 1)
    params = list(body.parameters()) + list(head.parameters())
    opt = optim.Adam(params, lr=3e-3)
    for step in range(steps):
        mean, raw = head(body(xt))
        loss = NF.heteroscedastic_gaussian_nll(mean, raw, yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if verbose and step % 500 == 0:
            print(f"step {step:5d}  nll {loss.item():.4f}")
    probe = np.array([[-0.9], [-0.5], [0.0], [0.5], [0.9]])
    with gg.no_grad():
        mean, raw = head(body(gg.tensor(probe, dtype=gg.float32)))
        std = head.variance(raw).sqrt().numpy()[:, 0]
    if verbose:
        for xv, s in zip(probe[:, 0], std):
            print(f"x = {xv:+.1f}: predicted std {s:.3f}, true std {true_std(xv):.3f}")
    return {"nll": loss.item(), "predicted_std": std.tolist(), "true_std": true_std(probe[:, 0]).tolist(),
            "log_ratio_error": float(np.abs(np.log(std / true_std(probe[:, 0]))).mean()),
            "baseline_nll": 0.5 * math.log(2 * math.pi * np.var(y)) + 0.5}


if __name__ == "__main__":
    main()
