"""The rest of torch.optim on one small classifier, each from the same weights for 20 steps:
NAdam, RAdam, Adamax, Adadelta, ASGD, Rprop, and Adam/SGD with maximize=True on the negated
loss; then schedules a script chains: SequentialLR (LinearLR warm-up then
CosineAnnealingWarmRestarts), ChainedScheduler, PolynomialLR, ConstantLR and
MultiplicativeLR, with a state_dict round trip half-way."""

import numpy as np
import torch
from torch import nn
from torch.optim import lr_scheduler

rng = np.random.default_rng(27)
X = torch.from_numpy(rng.normal(size=(48, 5)).astype(np.float32))
y = torch.from_numpy((rng.normal(size=48) + X[:, 0].numpy() > 0).astype(np.int64))
init = [torch.from_numpy(rng.normal(0, 0.3, size=s).astype(np.float32)) for s in [(6, 5), (6,), (2, 6), (2,)]]
loss_fn = nn.CrossEntropyLoss()


def fresh():
    model = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 2))
    with torch.no_grad():
        for p, v in zip(model.parameters(), init):
            p.copy_(v)
    return model


def run(make_opt, sign=1.0, steps=20):
    model = fresh()
    opt = make_opt(model.parameters())
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        (sign * loss).backward()
        opt.step()
        out.append(loss.item())
    return out


trajectories = {
    "nadam": run(lambda p: torch.optim.NAdam(p, lr=0.02, momentum_decay=4e-3)),
    "radam": run(lambda p: torch.optim.RAdam(p, lr=0.02, weight_decay=1e-3)),
    "adamax": run(lambda p: torch.optim.Adamax(p, lr=0.02)),
    "adadelta": run(lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.9)),
    "asgd": run(lambda p: torch.optim.ASGD(p, lr=0.05, t0=5)),
    "rprop": run(lambda p: torch.optim.Rprop(p, lr=0.01)),
    "adam_maximize": run(lambda p: torch.optim.Adam(p, lr=0.01, maximize=True), sign=-1.0),
    "sgd_maximize": run(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, maximize=True), sign=-1.0),
}


def lrs_of(make_sched, steps=16, resume_at=None):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = make_sched(opt)
    out = []
    for step in range(steps):
        opt.step()
        sched.step()
        out.append(round(opt.param_groups[0]["lr"], 10))
        if step == resume_at:
            saved = sched.state_dict()
            opt2 = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
            sched2 = make_sched(opt2)
            sched2.load_state_dict(saved)
            opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
            opt, sched = opt2, sched2
    return out


schedules = {
    "sequential": lrs_of(lambda o: lr_scheduler.SequentialLR(
        o, [lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=4),
            lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2, eta_min=0.01)], milestones=[4])),
    "chained": lrs_of(lambda o: lr_scheduler.ChainedScheduler(
        [lr_scheduler.ConstantLR(o, factor=0.5, total_iters=3), lr_scheduler.ExponentialLR(o, gamma=0.9)])),
    "polynomial": lrs_of(lambda o: lr_scheduler.PolynomialLR(o, total_iters=10, power=2.0), resume_at=5),
    "constant": lrs_of(lambda o: lr_scheduler.ConstantLR(o, factor=0.25, total_iters=5), resume_at=2),
    "multiplicative": lrs_of(lambda o: lr_scheduler.MultiplicativeLR(o, lr_lambda=lambda e: 0.95), resume_at=7),
    "warm_restarts": lrs_of(lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=1), resume_at=4),
}

RESULT = {
    "losses": trajectories["nadam"],
    **{f"{k}_losses": v for k, v in trajectories.items()},
    **{f"{k}_lrs": v for k, v in schedules.items()},
}
