"""The training program behind ``gpugrad train`` and ``gpugrad eval``: an MLP classifier
on MNIST-1D (default), MNIST or the user's data, with checkpoints, resume, plots and a
JSON summary. Written against gpugrad's public API only."""

import json
import math
import sys
import time

import numpy as np

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.data import DataLoader, TensorDataset, datasets
from gpugrad.errors import ArgumentError

ACTIVATIONS = {
    "relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU, "prelu": nn.PReLU,
    "elu": nn.ELU, "gelu": nn.GELU, "silu": nn.SiLU, "softplus": nn.Softplus, "abs": nn.AbsRectification,
    "hardtanh": nn.Hardtanh,
}  # fmt: skip
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULES = ("none", "step", "cosine", "exponential", "onecycle", "cyclic", "warmup")


def build_mlp(in_features, hidden, classes, activation="relu", dropout=0.0):
    """in -> hidden[0] -> ... -> classes with ``activation`` between; no hidden layer is
    multinomial logistic regression."""
    if activation not in ACTIVATIONS:
        raise ArgumentError(f"[train] activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    layers, width = [], in_features
    for h in hidden:
        layers += [nn.Linear(width, h), ACTIVATIONS[activation]()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, classes))
    return nn.Sequential(*layers)


def make_optimizer(name, params, lr, momentum=0.0, weight_decay=0.0):
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adagrad":
        return optim.Adagrad(params, lr=lr, weight_decay=weight_decay)
    raise ArgumentError(f"[train] optimizer must be one of {OPTIMIZERS}, got {name!r}")


def make_schedule(name, opt, epochs, steps_per_epoch, lr):
    """(scheduler or None, True when it steps per batch)."""
    S = optim.lr_scheduler
    total = epochs * steps_per_epoch
    if name == "none":
        return None, False
    if name == "step":
        return S.StepLR(opt, step_size=max(epochs // 3, 1), gamma=0.1), False
    if name == "cosine":
        return S.CosineAnnealingLR(opt, T_max=total), True
    if name == "exponential":
        return S.ExponentialLR(opt, gamma=0.01 ** (1 / max(epochs, 1))), False
    if name == "onecycle":
        return S.OneCycleLR(opt, max_lr=lr, total_steps=total), True
    if name == "cyclic":
        return S.CyclicLR(opt, base_lr=lr / 10, max_lr=lr, step_size_up=max(total // 8, 1), mode="triangular2"), True
    if name == "warmup":
        return S.LinearLR(opt, start_factor=0.1, total_iters=max(total // 10, 1)), True
    raise ArgumentError(f"[train] schedule must be one of {SCHEDULES}, got {name!r}")


def _standardize(x_train, x_test):
    mean = x_train.mean(0)
    std = x_train.std(0)
    std[std == 0] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def evaluate(model, x, y, batch_size=1000):
    """(mean cross-entropy, accuracy) of ``model`` on tensors x, y."""
    model.eval()
    total_loss, correct, n = 0.0, 0, x.shape[0]
    with gg.no_grad():
        for start in range(0, n, batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            logits = model(xb)
            total_loss += nn.functional.cross_entropy(logits, yb, reduction="sum").item()
            correct += int((logits.argmax(1) == yb).sum().item())
    model.train()
    return total_loss / max(n, 1), correct / max(n, 1)


def _prepare(config):
    x, y, xt, yt = datasets.load(config["data"], config.get("data_dir"), seed=config["seed"])
    if config.get("standardize"):
        mean, std = np.asarray(config["mean"], np.float32), np.asarray(config["std"], np.float32)
        x, xt = (x - mean) / std, (xt - mean) / std
    dev = config["device"]
    return (gg.tensor(x, device=dev), gg.tensor(y, device=dev), gg.tensor(xt, device=dev), gg.tensor(yt, device=dev))


def train(config, resume=None, save=None, progress=True, log=print):
    """Train per ``config`` (see ``default_config``); returns the summary dict."""
    started = time.perf_counter()
    state = None
    if resume:
        state = gg.load(resume, device="cpu")
        saved = dict(state["config"])
        epochs = config.get("epochs") or saved["epochs"]
        if epochs != saved["epochs"] and saved["schedule"] not in ("none", "step", "exponential"):
            raise ArgumentError(
                f"[train] this run's {saved['schedule']!r} schedule was laid out for {saved['epochs']} epochs; "
                "resume it without changing --epochs"
            )
        saved["epochs"] = epochs
        saved["device"] = config.get("device") or saved["device"]
        config = saved
    config = dict(config)
    config["device"] = str(gg.device(config["device"]) if config["device"] != "auto" else gg.get_default_device())
    gg.manual_seed(config["seed"])
    if state is None and config["data"] not in ("mnist1d", "mnist"):
        x, _, xt, _ = datasets.load(config["data"], config.get("data_dir"), seed=config["seed"])
        mean, std = _standardize(x, xt)
        config.update(standardize=True, mean=mean.tolist(), std=std.tolist())
    x, y, xt, yt = _prepare(config)
    classes = int(max(y.max().item(), yt.max().item())) + 1
    config.update(in_features=int(x.shape[1]), classes=classes)
    model = build_mlp(config["in_features"], config["hidden"], classes, config["activation"], config["dropout"])
    model.to(config["device"])
    opt = make_optimizer(config["optimizer"], model.parameters(), config["lr"], config["momentum"], config["weight_decay"])
    loader = DataLoader(TensorDataset(x, y), batch_size=config["batch_size"], shuffle=True, seed=config["seed"])
    sched, per_batch = make_schedule(config["schedule"], opt, config["epochs"], len(loader), config["lr"])
    history, first_epoch = [], 1
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if sched is not None and state.get("scheduler"):
            sched.load_state_dict(state["scheduler"])
            for g, lr in zip(opt.param_groups, sched.get_last_lr()):
                g["lr"] = lr
        loader.load_state_dict(state["loader"])
        gg.set_rng_state(state["rng"])
        history = state["history"]
        first_epoch = state["epoch"] + 1
    bar_factory = _bar(progress)
    on_cuda = gg.device(config["device"]).type == "cuda"
    for epoch in range(first_epoch, config["epochs"] + 1):
        t0 = time.perf_counter()
        run_loss, run_correct, seen = 0.0, 0, 0
        for xb, yb in bar_factory(loader, f"epoch {epoch}/{config['epochs']}"):
            logits = model(xb)
            loss = nn.functional.cross_entropy(logits, yb)
            opt.zero_grad()
            loss.backward()
            if config.get("clip"):
                nn.utils.clip_grad_norm_(model.parameters(), config["clip"])
            opt.step()
            if sched is not None and per_batch:
                sched.step()
            lv = loss.item()
            if not math.isfinite(lv):
                raise ArgumentError(f"[train] the loss became {lv} at epoch {epoch}; lower --lr or add --clip")
            run_loss += lv * xb.shape[0]
            run_correct += int((logits.argmax(1) == yb).sum().item())
            seen += xb.shape[0]
        if sched is not None and not per_batch:
            sched.step()
        test_loss, test_acc = evaluate(model, xt, yt)
        row = {"epoch": epoch, "train_loss": run_loss / seen, "train_acc": run_correct / seen,
               "test_loss": test_loss, "test_acc": test_acc, "lr": opt.param_groups[0]["lr"],
               "seconds": time.perf_counter() - t0}
        if on_cuda:  # the memory pool at the end of each epoch: a figure that keeps growing is a leak
            row.update(cuda_memory_allocated=gg.cuda.memory_allocated(), cuda_memory_reserved=gg.cuda.memory_reserved())
        history.append(row)
        if save:
            gg.save({"config": config, "model": model.state_dict(), "optimizer": opt.state_dict(),
                     "scheduler": sched.state_dict() if sched is not None else None,
                     "loader": loader.state_dict(), "rng": gg.get_rng_state(), "epoch": epoch,
                     "history": history}, save)
        log(f"epoch {epoch:3d}  train loss {row['train_loss']:.4f}  acc {row['train_acc']:.4f}  "
            f"test loss {test_loss:.4f}  acc {test_acc:.4f}  lr {row['lr']:.3g}  {row['seconds']:.2f}s")
    return {
        "config": config,
        "history": history,
        "final": history[-1] if history else None,
        "best_test_acc": max((h["test_acc"] for h in history), default=None),
        "parameters": sum(p.numel() for p in model.parameters()),
        "seconds": time.perf_counter() - started,
        "device": config["device"],
    }


def evaluate_checkpoint(path, data=None, data_dir=None, device="auto"):
    state = gg.load(path, device="cpu")
    config = dict(state["config"])
    if data:
        config["data"] = data
    if data_dir:
        config["data_dir"] = data_dir
    config["device"] = str(gg.get_default_device()) if device == "auto" else device
    _, _, xt, yt = _prepare(config)
    model = build_mlp(config["in_features"], config["hidden"], config["classes"], config["activation"], config["dropout"])
    model.load_state_dict(state["model"])
    model.to(config["device"])
    loss, acc = evaluate(model, xt, yt)
    return {"checkpoint": path, "epoch": state["epoch"], "test_loss": loss, "test_acc": acc, "n": int(xt.shape[0])}


def plot(history, path):
    """Loss and accuracy curves (train and test) per epoch, as a PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ArgumentError("[train] --plot needs matplotlib: pip install matplotlib") from None
    ep = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(ep, [h["train_loss"] for h in history], label="train")
    a.plot(ep, [h["test_loss"] for h in history], label="test")
    a.set_xlabel("epoch")
    a.set_ylabel("cross-entropy")
    a.legend()
    b.plot(ep, [h["train_acc"] for h in history], label="train")
    b.plot(ep, [h["test_acc"] for h in history], label="test")
    b.set_xlabel("epoch")
    b.set_ylabel("accuracy")
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _bar(progress):
    if not progress:
        return lambda it, desc: it
    from tqdm import tqdm

    return lambda it, desc: tqdm(it, desc=desc, leave=False, file=sys.stderr, dynamic_ncols=True)


def default_config():
    return {
        "data": "mnist1d", "data_dir": None, "hidden": [256, 256], "activation": "relu", "dropout": 0.2,
        "optimizer": "adam", "lr": 1e-2, "momentum": 0.9, "weight_decay": 0.0, "schedule": "cosine",
        "epochs": 150, "batch_size": 100, "device": "auto", "seed": 0, "clip": 0.0,
    }  # fmt: skip


def write_json(summary, path):
    text = json.dumps(summary, indent=2)
    if path == "-":
        print(text)
    else:
        with open(path, "w") as f:
            f.write(text + "\n")
