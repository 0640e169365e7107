"""A mixture density network on a multimodal problem.

The classic inverse problem: x = y + 0.3 sin(2 pi y) + noise, predict y from x. For many
x there are several valid y, so a single Gaussian (mean regression) averages the branches;
a mixture of K Gaussians, trained with the logsumexp-stable mixture NLL, models them all.
"""

import numpy as np

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.nn import functional as NF


def data(n, rng):
    y = rng.uniform(0, 1, (n, 1))
    x = y + 0.3 * np.sin(2 * np.pi * y) + rng.uniform(-0.1, 0.1, (n, 1))
    return x, y


def fit(head, body, x, y, steps, lr):
    params = list(body.parameters()) + list(head.parameters())
    opt = optim.Adam(params, lr=lr)
    for _ in range(steps):
        out = head(body(x))
        loss = NF.mdn_nll(*out, y) if isinstance(head, nn.MixtureDensityHead) else \
            NF.gaussian_nll_loss(out[0], y, NF.softplus(out[1]) + 1e-4, full=True)  # same constant as mdn_nll
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.item()


class MeanVar(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.lin = nn.Linear(n, 2)

    def forward(self, h):
        o = self.lin(h)
        return o[:, :1], o[:, 1:]


def main(steps=2000, components=5, seed=0, verbose=True):
    gg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x, y = data(2000, rng)
    xt, yt = gg.tensor(x, dtype=gg.float32), gg.tensor(y, dtype=gg.float32)

    def body():
        return nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh())

    mdn_nll = fit(nn.MixtureDensityHead(32, 1, components), body(), xt, yt, steps, 5e-3)
    single_nll = fit(MeanVar(32), body(), xt, yt, steps, 5e-3)
    if verbose:
        print(f"mixture of {components} Gaussians: NLL {mdn_nll:.3f}")
        print(f"single Gaussian:              NLL {single_nll:.3f}  (cannot represent several branches)")
    return {"mdn_nll": mdn_nll, "single_gaussian_nll": single_nll}


if __name__ == "__main__":
    main()
