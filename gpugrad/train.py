"""The training program behind ``gpugrad train`` and ``gpugrad eval``: an MLP classifier
on MNIST-1D (default), MNIST or the user's data, with checkpoints, resume, plots and a
JSON summary. Written against gpugrad's public API only."""

import json
import math
import os
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
# --precision: the dtype autocast runs the matrix products in (parameters stay float32);
# fp16 brings loss scaling, as its gradients would otherwise underflow
PRECISIONS = {"fp32": None, "bf16": gg.bfloat16, "fp16": gg.float16}
# fp16 steps in a row whose loss is not finite before the run is called diverged: the
# scaler skips such a step and halves its scale, so a streak this long is no overflow it
# can back off from (the scale would have fallen by 2**20)
FP16_BAD_STREAK = 20
# What --resume may change: how long to train, where, and whether divergence stops the
# run. Everything else belongs to the checkpoint (another model or data would not fit it).
RESUME_MAY_CHANGE = ("epochs", "device", "stop_on_divergence")
# A loss this far above where the run started means the weights are exploding: a fresh
# model's cross-entropy is about ln(classes), under 12 for any allowed class count, and
# training only lowers it, so 1e6 nats (the right class trailing by ~1e6 in logit) is out of
# reach of any run that is learning. The relative bound spares a run whose first loss is
# already large (unscaled features) while it comes down.
DIVERGED_LOSS, DIVERGED_FACTOR = 1e6, 1e3


def build_mlp(in_features, hidden, classes, activation="relu", dropout=0.0):
    """in -> hidden[0] -> ... -> classes with ``activation`` between; no hidden layer is
    multinomial logistic regression. A layer that feeds a ReLU starts with the small positive
    bias of ``nn.init.relu_bias_`` (0.1), so that its units start active (the study notes'
    advice); the others keep nn.Linear's initialisation."""
    if activation not in ACTIVATIONS:
        raise ArgumentError(f"[train] activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    layers, width = [], in_features
    for h in hidden:
        linear = nn.Linear(width, h)
        if activation == "relu":
            nn.init.relu_bias_(linear.bias)
        layers += [linear, ACTIVATIONS[activation]()]
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
    # momentum is cycled (PyTorch's default) where the optimizer has some: SGD with
    # --momentum > 0, Adam's beta1; plain SGD and Adagrad keep theirs
    cycle = "betas" in opt.defaults or opt.defaults.get("momentum", 0) > 0
    if name == "onecycle":
        return S.OneCycleLR(opt, max_lr=lr, total_steps=total, cycle_momentum=cycle), True
    if name == "cyclic":
        return S.CyclicLR(opt, base_lr=lr / 10, max_lr=lr, step_size_up=max(total // 8, 1), mode="triangular2",
                          cycle_momentum=cycle), True
    if name == "warmup":
        return S.LinearLR(opt, start_factor=0.1, total_iters=max(total // 10, 1)), True
    raise ArgumentError(f"[train] schedule must be one of {SCHEDULES}, got {name!r}")


def _standardize(x_train, x_test):
    # in float64: squares of float32 features beyond ~1e19 overflow float32
    mean = x_train.mean(0, dtype=np.float64)
    std = x_train.std(0, dtype=np.float64)
    std[std == 0] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def _autocast(precision, device):
    """The autocast region of a ``--precision`` on ``device`` (a disabled one for fp32)."""
    dtype = PRECISIONS[precision]
    return gg.autocast(gg.device(device).type, dtype=dtype, enabled=dtype is not None)


def evaluate(model, x, y, batch_size=1000, precision="fp32"):
    """(mean cross-entropy, accuracy) of ``model`` on tensors x, y, in the run's precision."""
    model.eval()
    total_loss, correct, n = 0.0, 0, x.shape[0]
    with gg.no_grad(), _autocast(precision, x.device):
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
        if x.shape[1] != mean.shape[0]:
            raise ArgumentError(f"[data] {config['data']} has {x.shape[1]} features, the model was trained on "
                                f"{mean.shape[0]}")
        x, xt = (x - mean) / std, (xt - mean) / std
    dev = config["device"]
    return (gg.tensor(x, device=dev), gg.tensor(y, device=dev), gg.tensor(xt, device=dev), gg.tensor(yt, device=dev))


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training: ``epoch`` is the epoch it came in, ``saved_epoch`` the last
    epoch whose checkpoint is in the --save file (None: none yet)."""

    def __init__(self, epoch, saved_epoch):
        super().__init__(epoch, saved_epoch)
        self.epoch, self.saved_epoch = epoch, saved_epoch


# key: (test, what the value must be). NaN fails every comparison, so it is refused too.
_RULES = {
    "epochs": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "batch_size": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "seed": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "lr": (lambda v: 0 < v < math.inf, "a positive number"),
    # 1 or more never lets the past gradients fade, which makes the steps grow without bound
    "momentum": (lambda v: 0 <= v < 1, "at least 0 and below 1"),
    "weight_decay": (lambda v: 0 <= v < math.inf, "a number >= 0"),
    "clip": (lambda v: 0 <= v < math.inf, "a number >= 0 (0: no clipping)"),
    # the probability of zeroing a unit: at 1 nothing reaches the next layer
    "dropout": (lambda v: 0 <= v < 1, "at least 0 and below 1"),
}


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_config(config):
    """Refuse settings that cannot train, naming the command-line flag and what it takes."""
    for key, (ok, want) in _RULES.items():
        value = config.get(key)
        if value is None:
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not ok(value):
            raise ArgumentError(f"[train] --{key.replace('_', '-')} must be {want}, got {value!r}")
    hidden = config.get("hidden")
    if hidden is not None and not all(_is_int(h) and h > 0 for h in hidden):
        raise ArgumentError(f"[train] --hidden takes positive layer widths such as 256,256, got {hidden!r}")


def _flag_value(value):
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _refuse_conflicts(given, saved, path):
    """--resume continues a run with the checkpoint's settings; flags that would change
    them (other than RESUME_MAY_CHANGE) are refused rather than silently ignored."""
    defaults = default_config()
    conflicts = [f"--{k.replace('_', '-')} {_flag_value(v)} (checkpoint: {_flag_value(saved.get(k, defaults.get(k)))})"
                 for k, v in given.items() if k not in RESUME_MAY_CHANGE and v != saved.get(k, defaults.get(k))]
    if conflicts:
        raise ArgumentError(
            f"[train] {path} was trained with other settings than {', '.join(conflicts)}; --resume continues "
            "that run as it was (only --epochs and --device may change): drop those flags, or start a new run"
        )


def _advice(config):
    return "lower --lr" if config.get("clip") else "lower --lr or add --clip"


def _check_loss(config, loss, first_loss, epoch, bad_streak=0):
    if not math.isfinite(loss):
        if config.get("precision") == "fp16" and bad_streak < FP16_BAD_STREAK:
            return  # an fp16 overflow: the scaler skipped the step and lowers its scale
        if config.get("precision") == "fp16":
            raise ArgumentError(f"[train] the loss was {loss} for {bad_streak} steps in a row at epoch {epoch}, "
                                f"although the loss scale kept falling; {_advice(config)}, or try --precision bf16")
        raise ArgumentError(f"[train] the loss became {loss} at epoch {epoch}; {_advice(config)}")
    if config.get("stop_on_divergence", True) and loss > max(DIVERGED_LOSS, DIVERGED_FACTOR * first_loss):
        raise ArgumentError(
            f"[train] the loss diverged at epoch {epoch}: {loss:.3g}, from {first_loss:.3g} at the start; "
            f"{_advice(config)} (--no-stop-on-divergence lets it run on)"
        )


# Optimizer state per parameter value: SGD's momentum buffer, Adam's two moments, ...
_OPTIMIZER_SLOTS = {"sgd": lambda m: int(m > 0), "adam": lambda m: 2, "adamw": lambda m: 2,
                    "rmsprop": lambda m: 1 + int(m > 0), "adagrad": lambda m: 1}


def available_memory():
    """Bytes of host memory available to new allocations (Linux's MemAvailable, within a
    cgroup v2 limit), or None where that is unknown."""
    try:
        with open("/proc/meminfo") as f:
            available = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        if limit != "max":
            available = min(available, int(limit))
    except (OSError, ValueError):
        pass  # no cgroup v2 limit
    return available


def _check_memory(config):
    """Refuse a model whose parameters, gradients and optimizer state cannot fit in the
    host memory, before allocating it: NumPy would fail (or the kernel kill the process)
    part way through. On a GPU the allocation itself reports it (CuPy's OutOfMemoryError)."""
    if gg.device(config["device"]).type != "cpu":
        return
    widths = [config["in_features"], *config["hidden"], config["classes"]]
    parameters = sum((a + 1) * b for a, b in zip(widths, widths[1:]))
    need = parameters * 4 * (2 + _OPTIMIZER_SLOTS[config["optimizer"]](config["momentum"]))
    available = available_memory()
    if available is not None and need > available:
        raise ArgumentError(
            f"[train] the MLP {'-'.join(map(str, widths))} has {parameters:,} parameters, which with their gradients "
            f"and {config['optimizer']}'s state need about {need / 2**30:.1f} GiB; {available / 2**30:.1f} GiB of memory "
            "is available: use narrower --hidden layers"
        )


def _header(config, resumed, first_epoch, n_train, n_test, batches, parameters, world=1):
    """One line on what is about to run: data, model, optimizer, device."""
    c = config
    widths = "-".join(map(str, [c["in_features"], *c["hidden"], c["classes"]]))
    dropout = f", dropout {c['dropout']:g}" if c["hidden"] and c["dropout"] else ""
    where = c["device"]
    if gg.device(where).type == "cpu":
        kernels = gg.backend.get_backend("cpu").kernels
        where += f" ({kernels.threads} threads)" if kernels is not None else " (NumPy, no native kernels)"
    start = f"resuming {resumed} at epoch {first_epoch}" if resumed else "training"
    if world > 1:
        where += f" x {world} processes, each batch split between them"
    schedule = f" ({c['schedule']} schedule)" if c["schedule"] != "none" else ""
    if c.get("precision", "fp32") != "fp32":
        where += f", {c['precision']} autocast" + (" with loss scaling" if c["precision"] == "fp16" else "")
    return (f"{start}: {c['data']}, {n_train} training and {n_test} test examples, {c['in_features']} features, "
            f"{c['classes']} classes; MLP {widths} ({c['activation']}{dropout}), {parameters:,} parameters; "
            f"{c['optimizer']} lr {c['lr']:g}{schedule}, {c['epochs']} epochs, batch size {c['batch_size']} "
            f"({batches} step{'s' if batches != 1 else ''} per epoch); on {where}")


def _process_group():
    """(rank, world size, local rank) of the process group this run is part of."""
    from gpugrad import distributed as dist

    if not dist.is_initialized():
        return 0, 1, 0
    return dist.get_rank(), dist.get_world_size(), dist.get_local_rank()


def _rank_device(device, local_rank, world):
    """Each process of a multi-process run on a host takes its own GPU (local rank modulo
    the GPUs there) when the run's device is CUDA without an index."""
    dev = gg.device(device) if device != "auto" else gg.get_default_device()
    if world > 1 and dev.type == "cuda" and device in ("auto", "cuda"):
        dev = gg.device(f"cuda:{local_rank % gg.cuda.device_count()}")
    return str(dev)


def _share(n, rank, world):
    """Rows [lo, hi) of a global batch of ``n`` that rank ``rank`` of ``world`` trains on."""
    return n * rank // world, n * (rank + 1) // world


def train(config, resume=None, save=None, progress=True, log=print):
    """Train per ``config`` (see ``default_config``); returns the summary dict.

    Under a process group of N ranks (``mpiexec -n N gpugrad train``) every rank draws the
    same global batches (the loader's order depends on the seed only), trains on its
    share of each, and DistributedDataParallel averages the gradients, so the steps are
    those of one process on the whole batch; rank 0 alone logs and writes the checkpoint,
    which holds nothing of the ranks (it resumes in any number of processes)."""
    from gpugrad import runs  # it reads this module's rules

    started = time.perf_counter()
    rank, world, local_rank = _process_group()
    if rank:
        progress, save, log = False, None, (lambda *a, **k: None)
    state = None
    if resume:
        state = runs.load_run(resume, "train")
        saved = dict(state["config"])
        _refuse_conflicts(config, saved, resume)
        epochs = config.get("epochs") or saved["epochs"]
        if epochs != saved["epochs"] and saved["schedule"] not in ("none", "step", "exponential"):
            raise ArgumentError(
                f"[train] this run's {saved['schedule']!r} schedule was laid out for {saved['epochs']} epochs; "
                "resume it without changing --epochs"
            )
        saved["epochs"] = epochs
        saved["device"] = config.get("device") or saved["device"]
        saved["stop_on_divergence"] = config.get("stop_on_divergence", saved.get("stop_on_divergence", True))
        config = saved
    config = dict(config)
    config.setdefault("precision", "fp32")  # checkpoints from before --precision: fp32 runs
    check_config(config)
    config["device"] = _rank_device(config["device"], local_rank, world)
    gg.manual_seed(config["seed"])
    if state is None and config["data"] not in ("mnist1d", "mnist"):
        x, _, xt, _ = datasets.load(config["data"], config.get("data_dir"), seed=config["seed"])
        mean, std = _standardize(x, xt)
        config.update(standardize=True, mean=mean.tolist(), std=std.tolist())
    x, y, xt, yt = _prepare(config)
    classes = int(max(y.max().item(), yt.max().item())) + 1
    config.update(in_features=int(x.shape[1]), classes=classes)
    _check_memory(config)
    model = build_mlp(config["in_features"], config["hidden"], classes, config["activation"], config["dropout"])
    model.to(config["device"])
    net = model
    if world > 1:
        from gpugrad.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model)
    opt = make_optimizer(config["optimizer"], model.parameters(), config["lr"], config["momentum"], config["weight_decay"])
    loader = DataLoader(TensorDataset(x, y), batch_size=config["batch_size"], shuffle=True, seed=config["seed"])
    sched, per_batch = make_schedule(config["schedule"], opt, config["epochs"], len(loader), config["lr"])
    history, first_epoch = [], 1
    scaler = gg.amp.GradScaler(gg.device(config["device"]).type) if config["precision"] == "fp16" else None
    if state is not None:
        runs.restore(state, resume, model, opt, sched, loader, scaler)
        history = state["history"]
        first_epoch = state["epoch"] + 1
    if rank:  # dropout masks of its own on each rank (the checkpoint's generator state is rank 0's)
        gg.manual_seed(int(np.random.SeedSequence([config["seed"], rank, first_epoch]).generate_state(1)[0]))
    bar_factory = _bar(progress)
    on_cuda = gg.device(config["device"]).type == "cuda"
    parameters = sum(p.numel() for p in model.parameters())
    log(_header(config, resume if state is not None else None, first_epoch, len(x), len(xt), len(loader), parameters,
                world))
    first_loss, bad_streak = None, 0
    autocast = _autocast(config["precision"], config["device"])
    scaled = scaler.scale if scaler is not None else (lambda loss: loss)
    # the checkpoint file holds the last epoch saved to it; an interrupted run reports it
    saved_epoch = first_epoch - 1 if state is not None and save == resume else None
    epoch = first_epoch
    try:
        for epoch in range(first_epoch, config["epochs"] + 1):
            t0 = time.perf_counter()
            run_loss, run_correct, seen = 0.0, 0, 0
            for xb, yb in bar_factory(loader, f"epoch {epoch}/{config['epochs']}"):
                n = xb.shape[0]
                if world > 1:
                    lo, hi = _share(n, rank, world)
                    xb, yb = xb[lo:hi], yb[lo:hi]
                with autocast:
                    logits = net(xb)
                    loss = nn.functional.cross_entropy(logits, yb, reduction="mean" if world == 1 else "sum")
                opt.zero_grad()
                if world == 1:
                    scaled(loss).backward()
                    lv, correct = loss.item(), int((logits.argmax(1) == yb).sum().item())
                else:  # the shares' sums, scaled so that the ranks' average is the global mean
                    scaled(loss * (world / n)).backward()
                    lv, correct = _global_stats(loss, logits, yb, n)
                if config.get("clip"):
                    if scaler is not None:
                        scaler.unscale_(opt)  # clip the true gradients
                    nn.utils.clip_grad_norm_(model.parameters(), config["clip"])
                if scaler is not None:
                    scaler.step(opt)  # skipped when a gradient overflowed
                    scaler.update()
                else:
                    opt.step()
                if sched is not None and per_batch:
                    sched.step()
                bad_streak = 0 if math.isfinite(lv) else bad_streak + 1
                first_loss = lv if first_loss is None and bad_streak == 0 else first_loss
                _check_loss(config, lv, first_loss, epoch, bad_streak)
                if bad_streak:
                    continue  # a skipped fp16 step: not in the epoch's figures
                run_loss += lv * n
                run_correct += correct
                seen += n
            if not seen:
                raise ArgumentError(f"[train] every step of epoch {epoch} had a loss that was not finite in fp16; "
                                    f"{_advice(config)}, or try --precision bf16")
            if sched is not None and not per_batch:
                sched.step()
            test_loss, test_acc = evaluate(model, xt, yt, precision=config["precision"])
            row = {"epoch": epoch, "train_loss": run_loss / seen, "train_acc": run_correct / seen,
                   "test_loss": test_loss, "test_acc": test_acc, "lr": opt.param_groups[0]["lr"],
                   "seconds": time.perf_counter() - t0}
            if on_cuda:  # the memory pool at the end of each epoch: a figure that keeps growing is a leak
                row.update(cuda_memory_allocated=gg.cuda.memory_allocated(),
                           cuda_memory_reserved=gg.cuda.memory_reserved())
            history.append(row)
            if save:
                gg.save({"config": config, "model": model.state_dict(), "optimizer": opt.state_dict(),
                         "scheduler": sched.state_dict() if sched is not None else None,
                         "loader": loader.state_dict(), "rng": gg.get_rng_state(), "epoch": epoch,
                         "scaler": scaler.state_dict() if scaler is not None else None,
                         "history": history}, save)
                saved_epoch = epoch
            log(f"epoch {epoch:3d}  train loss {row['train_loss']:.4f}  acc {row['train_acc']:.4f}  "
                f"test loss {test_loss:.4f}  acc {test_acc:.4f}  lr {row['lr']:.3g}  {row['seconds']:.2f}s")
    except KeyboardInterrupt:
        raise TrainingInterrupted(epoch, saved_epoch) from None
    return {
        "config": config,
        "history": history,
        "final": history[-1] if history else None,
        "best_test_acc": max((h["test_acc"] for h in history), default=None),
        "parameters": parameters,
        "seconds": time.perf_counter() - started,
        "device": config["device"],
        "processes": world,
        "threads": {"kernels": gg.get_num_threads(), "blas": gg.backend.threads.blas_num_threads()},
    }


def _global_stats(loss_sum, logits, y, n):
    """(mean loss, correct predictions) over the global batch of ``n``, from every rank's share."""
    from gpugrad import distributed as dist

    with gg.no_grad():
        both = gg.stack([loss_sum.detach().double(), (logits.argmax(1) == y).sum().double()])  # on the device: NCCL too
    dist.all_reduce(both)
    total, correct = both.tolist()
    return total / n, int(round(correct))


def evaluate_checkpoint(path, data=None, data_dir=None, device="auto"):
    from gpugrad import runs  # it reads this module's rules

    state = runs.load_run(path, "eval")
    config = dict(state["config"])
    if data:
        config["data"] = data
    if data_dir:
        config["data_dir"] = data_dir
    config["device"] = str(gg.get_default_device()) if device == "auto" else device
    _, _, xt, yt = _prepare(config)
    model = build_mlp(config["in_features"], config["hidden"], config["classes"], config["activation"], config["dropout"])
    runs.load_model(model, state["model"], path, "eval")
    model.to(config["device"])
    loss, acc = evaluate(model, xt, yt, precision=config.get("precision", "fp32"))
    return {"checkpoint": path, "epoch": state["epoch"], "test_loss": loss, "test_acc": acc, "n": int(xt.shape[0])}


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ArgumentError("[train] --plot needs matplotlib: pip install matplotlib") from None
    return plt


def check_plot_path(path):
    """Refuse a --plot file that could not be written (no matplotlib, a file type it does
    not write), so that it is said before training rather than after."""
    _pyplot()
    from matplotlib.figure import Figure

    kinds = Figure().canvas.get_supported_filetypes()
    kind = os.path.splitext(path)[1][1:].lower()
    if kind not in kinds:
        raise ArgumentError(f"[train] --plot {path}: the file name must end in one of .{', .'.join(sorted(kinds))} "
                            "(such as curves.png)")


def plot(history, path):
    """Loss and accuracy curves (train and test) per epoch, as an image (PNG, SVG, PDF, ...
    by the file's extension)."""
    plt = _pyplot()
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
        "epochs": 150, "batch_size": 100, "device": "auto", "seed": 0, "clip": 0.0, "stop_on_divergence": True,
        "precision": "fp32",
    }  # fmt: skip


def write_json(summary, path):
    text = json.dumps(summary, indent=2)
    if path == "-":
        print(text)
    else:
        with open(path, "w") as f:
            f.write(text + "\n")
