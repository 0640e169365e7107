"""Mixed precision as PyTorch's AMP recipe writes it: torch.autocast("cpu", bfloat16) over
forward and loss (products in bfloat16, the loss in float32, float32 parameters and
gradients), then float16 with torch.amp.GradScaler (unscale_ before clipping, a step
skipped on an injected inf, the scale's back-off and growth, its state_dict), and a
bfloat16 model (.to(torch.bfloat16)) trained directly."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

rng = np.random.default_rng(29)
X = torch.from_numpy(rng.normal(size=(64, 8)).astype(np.float32))
y = torch.from_numpy(rng.integers(0, 3, size=64))
init = [rng.normal(0, 0.4, size=(16, 8)), np.zeros(16), rng.normal(0, 0.4, size=(3, 16)), np.zeros(3)]


def make():
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    with torch.no_grad():
        for p, v in zip(model.parameters(), init):
            p.copy_(torch.tensor(v, dtype=torch.float32))
    return model


RESULT = {}

# bfloat16 autocast
model = make()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
losses = []
for _ in range(20):
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(X)
        loss = F.cross_entropy(logits, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())
RESULT["losses"] = losses
RESULT["bf16_dtypes"] = [logits.dtype == torch.bfloat16, loss.dtype == torch.float32,
                         all(p.dtype == torch.float32 and p.grad.dtype == torch.float32 for p in model.parameters())]
with torch.autocast("cpu", dtype=torch.bfloat16):
    inner = [torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu") == torch.bfloat16]
    with torch.autocast("cpu", enabled=False):
        inner.append(model(X).dtype == torch.float32)
RESULT["regions"] = inner + [torch.is_autocast_enabled("cpu")]

# float16 autocast with loss scaling
model = make()
opt = torch.optim.Adam(model.parameters(), lr=0.01)
scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8, growth_interval=4)
scales, norms, fp16_losses = [], [], []
for step in range(12):
    with torch.autocast("cpu", dtype=torch.float16):
        loss = F.cross_entropy(model(X), y)
    opt.zero_grad()
    scaler.scale(loss).backward()
    if step == 5:
        with torch.no_grad():
            model[0].weight.grad[0, 0] = float("inf")
    scaler.unscale_(opt)
    norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), 10.0)))
    scaler.step(opt)
    scaler.update()
    scales.append(scaler.get_scale())
    fp16_losses.append(loss.item())
RESULT["fp16_losses"] = fp16_losses
RESULT["scales"] = scales
RESULT["finite_norms"] = [n for n in norms if np.isfinite(n)]
RESULT["scaler_state"] = {k: v for k, v in scaler.state_dict().items()}

# a model in bfloat16 throughout
model = make().to(torch.bfloat16)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for _ in range(10):
    loss = F.cross_entropy(model(X.to(torch.bfloat16)), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
# to 0.1: the frameworks' bfloat16 SGD arithmetic ends one bfloat16 step (2**-7) apart
RESULT["bf16_model_loss"] = round(loss.float().item(), 1)
RESULT["bf16_model_dtypes"] = [loss.dtype == torch.bfloat16, model[0].weight.grad.dtype == torch.bfloat16]
