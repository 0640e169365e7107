"""Train a small MLP with nothing but gpugrad's core ops (Tensor, autograd, no_grad).

Two interleaved spirals, 2 -> 64 -> 64 -> 2, full-batch gradient descent with a hand
written update. Runs on the default device (GPUGRAD_DEVICE=auto|cpu|cuda).
"""

import math

import numpy as np

import gpugrad as gg


def spirals(n, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.25, 1.0, n) * 3 * math.pi
    label = rng.integers(0, 2, n)
    angle = t + label * math.pi
    x = np.stack([t * np.cos(angle), t * np.sin(angle)], 1) / (3 * math.pi)
    return x + rng.normal(0, 0.02, x.shape), label


def main(steps=1500, lr=0.5):
    gg.manual_seed(0)
    x_np, y_np = spirals(1000)
    x = gg.tensor(x_np, dtype=gg.float32)
    y = gg.tensor(y_np)
    sizes = [2, 64, 64, 2]
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = math.sqrt(6 / (fan_in + fan_out))  # Glorot/Xavier uniform
        params += [(gg.rand(fan_out, fan_in) * 2 - 1).mul_(bound).requires_grad_(), gg.zeros(fan_out, requires_grad=True)]
    for step in range(steps + 1):
        h = x
        for i in range(0, len(params), 2):
            h = gg.linear(h, params[i], params[i + 1])
            if i < len(params) - 2:
                h = h.tanh()
        loss = -gg.log_softmax(h, dim=1).gather(1, y.unsqueeze(1)).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with gg.no_grad():
            for p in params:
                p -= lr * p.grad
        if step % 300 == 0:
            acc = (h.argmax(1) == y).float().mean().item()
            print(f"step {step:5d}  loss {loss.item():.4f}  accuracy {acc:.3f}  ({x.device})")
    return acc


if __name__ == "__main__":
    main()
