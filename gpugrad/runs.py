"""A ``gpugrad train`` run's checkpoint read back for ``--resume`` and ``gpugrad eval``:
everything in it is checked to be what the run would have written (the digest already
proved it is what was written) before any of it is used, so a damaged or foreign file is
a CheckpointError, never a crash deep in training."""

import copy
import reprlib
import sys

import numpy as np

import gpugrad as gg
from gpugrad.errors import GpugradError
from gpugrad.serialization import CheckpointError
from gpugrad.train import _RULES, ACTIVATIONS, OPTIMIZERS, PRECISIONS, SCHEDULES, _is_int


def _finite(v):
    """A number (no bool) that a float holds: NaN, infinities and ints beyond 1.8e308 fail."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) <= sys.float_info.max


def _one_of(names):
    return (lambda v: isinstance(v, str) and v in names), f"one of {', '.join(sorted(names))}"


def _is_device(v):
    if not isinstance(v, str):
        return False
    try:
        gg.device(v)
    except GpugradError:
        return False
    return True


# what a run's config must hold: key -> (test, what the value must be); those of the
# command line take its rules. _RUN_KEYS are read as config[key], the others if present
_RUN_KEYS = ("data", "hidden", "activation", "dropout", "optimizer", "lr", "momentum", "weight_decay", "schedule",
            "epochs", "batch_size", "device", "seed", "in_features", "classes")
_RUN_RULES = {
    **{k: (lambda v, ok=ok: _finite(v) and ok(v), want) for k, (ok, want) in _RULES.items()},
    "data": (lambda v: isinstance(v, str), "a data set name or file"),
    "data_dir": (lambda v: v is None or isinstance(v, str), "a folder or null"),
    "hidden": (lambda v: isinstance(v, list) and all(_is_int(h) and h > 0 for h in v), "a list of positive widths"),
    "activation": _one_of(ACTIVATIONS),
    "optimizer": _one_of(OPTIMIZERS),
    "schedule": _one_of(SCHEDULES),
    "device": (_is_device, "a device such as cpu or cuda:0"),
    "in_features": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "classes": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "standardize": (lambda v: isinstance(v, bool), "true or false"),
    "stop_on_divergence": (lambda v: isinstance(v, bool), "true or false"),
    "precision": _one_of(PRECISIONS),
}
_HISTORY_KEYS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds")
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_run_config(config, path, op):
    missing = [k for k in _RUN_KEYS if k not in config]
    if missing:
        raise CheckpointError(f"[{op}] {path}: its config lacks {', '.join(missing)}")
    for key, (ok, want) in _RUN_RULES.items():
        if key in config and not ok(config[key]):
            raise CheckpointError(f"[{op}] {path}: expected its config's {key} to be {want}, "
                                  f"got {reprlib.repr(config[key])}")
    if config.get("standardize"):  # the features' mean and std, as float32
        n = config["in_features"]
        for key, low in (("mean", -_FLOAT32_MAX), ("std", 0.0)):
            v = config.get(key)
            if not (isinstance(v, list) and len(v) == n and all(_finite(x) and low < x <= _FLOAT32_MAX for x in v)):
                raise CheckpointError(f"[{op}] {path}: expected its config's {key} to be {n} float32 numbers "
                                      f"(one per feature{', > 0' if key == 'std' else ''}), got {reprlib.repr(v)}")


def load_run(path, op):
    """The checkpoint of a ``gpugrad train`` run at ``path``, refused with CheckpointError
    unless it holds what ``op`` reads, of the right kinds: the run's config, its model's
    tensors (no more parameters than the config's MLP needs, so that a damaged config
    cannot make a huge model) and its epoch; for "train" also the history and the states
    of optimizer, scheduler, data loader and generator (checked where they are loaded)."""
    state = gg.load(path, device="cpu")
    if not (isinstance(state, dict) and isinstance(state.get("config"), dict)):
        raise CheckpointError(f"[{op}] {path} is a gpugrad file but not a checkpoint of gpugrad train (which holds "
                              "a run's config, model and epoch: gpugrad train --save writes them)")
    parts = ("model", "epoch") + (("optimizer", "scheduler", "loader", "rng", "history") if op == "train" else ())
    missing = [k for k in parts if k not in state]
    if missing:
        raise CheckpointError(f"[{op}] {path}: a checkpoint of gpugrad train without {', '.join(missing)}")
    config, model, epoch = state["config"], state["model"], state["epoch"]
    _check_run_config(config, path, op)
    if not (isinstance(model, dict) and all(isinstance(k, str) and isinstance(t, gg.Tensor) for k, t in model.items())):
        raise CheckpointError(f"[{op}] {path}: expected its model to be a state_dict (names to tensors), "
                              f"got {reprlib.repr(model)}")
    widths = [config["in_features"], *config["hidden"], config["classes"]]
    described = sum((a + 1) * b for a, b in zip(widths, widths[1:]))
    held = sum(t.numel() for t in model.values())
    if described > held:
        raise CheckpointError(f"[{op}] {path}: its config describes an MLP {'-'.join(map(str, widths))} of "
                              f"{described:,} parameters, its model holds {held:,} values")
    if not (_is_int(epoch) and 1 <= epoch <= config["epochs"]):
        raise CheckpointError(f"[{op}] {path}: expected its epoch to be an integer from 1 to its config's "
                              f"{config['epochs']} epochs, got {reprlib.repr(epoch)}")
    if op == "train":
        history = state["history"]
        if not (isinstance(history, list) and len(history) == epoch
                and all(isinstance(row, dict) and all(_finite(row.get(k)) for k in _HISTORY_KEYS) for row in history)):
            raise CheckpointError(f"[train] {path}: expected its history to be {epoch} rows (one per epoch) of the "
                                  f"numbers {', '.join(_HISTORY_KEYS)}, got {reprlib.repr(history)}")  # fmt: skip
    return state


def _layout_mismatch(saved, fresh, where):
    """Where ``saved`` differs in layout from ``fresh`` (the state of a new object of its
    kind): other keys or lengths, another kind of value; None where it does not."""
    if isinstance(fresh, dict):
        if not (isinstance(saved, dict) and saved.keys() == fresh.keys()):
            return f"{where}: expected the keys {sorted(fresh, key=str)}, got {reprlib.repr(saved)}"
        return next(filter(None, (_layout_mismatch(saved[k], fresh[k], f"{where}.{k}") for k in fresh)), None)
    if isinstance(fresh, (list, tuple)):
        if not (type(saved) is type(fresh) and len(saved) == len(fresh)):
            return f"{where}: expected a {type(fresh).__name__} of {len(fresh)}, got {reprlib.repr(saved)}"
        return next(filter(None, (_layout_mismatch(s, f, f"{where}[{i}]")
                                  for i, (s, f) in enumerate(zip(saved, fresh)))), None)  # fmt: skip
    if isinstance(fresh, float):
        fits, kind = _finite(saved), "a finite number"
    elif _is_int(fresh):
        fits, kind = _is_int(saved), "an integer"
    else:
        fits, kind = type(saved) is type(fresh), type(fresh).__name__
    return None if fits else f"{where}: expected {kind}, got {reprlib.repr(saved)}"


def restore(state, path, model, opt, sched, loader, scaler=None):
    """Load a run's checkpoint into the fresh objects built from its config, refusing with
    CheckpointError a part that does not fit them."""

    def misfit(part, why):
        return CheckpointError(f"[train] {path}: its {part} does not fit the run its config describes: {why}")

    load_model(model, state["model"], path, "train")
    try:
        opt.load_state_dict(state["optimizer"])
    except GpugradError as exc:
        raise misfit("optimizer state", exc) from None
    # every parameter was stepped before the first save: all have the same state, or none
    # has any (SGD without momentum); a missing moment would fail at the first step
    kinds = {frozenset(st) for st in opt.state.values()}
    if opt.state and (len(opt.state) != len(list(model.parameters())) or len(kinds) != 1):
        raise misfit("optimizer state", f"expected the same state for every parameter, got {sorted(map(sorted, kinds))}")
    saved = state.get("scaler")  # checkpoints from before --precision have none (they are fp32 runs)
    if (scaler is None) != (saved is None):
        want = "none (not an fp16 run)" if scaler is None else "the loss scaler's state (an fp16 run)"
        raise misfit("loss scaler state", f"expected {want}, got {reprlib.repr(saved)}")
    if scaler is not None:
        try:
            scaler.load_state_dict(saved)
        except (GpugradError, TypeError, ValueError, KeyError) as exc:
            raise misfit("loss scaler state", f"{type(exc).__name__}: {exc}") from None
    saved = state["scheduler"]
    if (sched is None) != (saved is None):
        want = "none" if sched is None else f"the state of a {type(sched).__name__}"
        raise misfit("scheduler state", f"expected {want}, got {reprlib.repr(saved)}")
    parts = [("data loader state", state["loader"], loader.state_dict(), loader.load_state_dict),
             ("generator state", state["rng"], gg.get_rng_state(), gg.set_rng_state)]
    if sched is not None:
        parts.insert(0, ("scheduler state", saved, sched.state_dict(), sched.load_state_dict))
    for part, value, fresh, put in parts:
        wrong = _layout_mismatch(value, fresh, part)
        if wrong:
            raise misfit(part, wrong)
        try:
            put(value)
        except (ValueError, TypeError, OverflowError) as exc:  # NumPy's refusals of a generator state
            raise misfit(part, f"{type(exc).__name__}: {exc}") from None
    if sched is not None:
        groups = [dict(g) for g in opt.param_groups]  # the dry run also sets them (lr, cycled momentum)
        try:  # a dry run of the next step, on a copy: a step_size of 0 would fail mid-training
            copy.copy(sched).step()
        except (ArithmeticError, ValueError, TypeError) as exc:
            raise misfit("scheduler state", f"its next step fails ({type(exc).__name__}: {exc})") from None
        finally:
            for g, before in zip(opt.param_groups, groups):
                g.update(before)
        for g, lr in zip(opt.param_groups, sched.get_last_lr()):
            g["lr"] = lr


def load_model(model, saved, path, op):
    own = model.state_dict()
    # load_state_dict would copy an int32 weight into a float32 one without a word
    why = "; ".join(f"{k} is {t.dtype}, the model's {own[k].dtype}" for k, t in saved.items()
                    if k in own and t.dtype != own[k].dtype)  # fmt: skip
    if not why:
        try:
            model.load_state_dict(saved)
            return
        except GpugradError as exc:
            why = str(exc)
    raise CheckpointError(f"[{op}] {path}: its model does not fit the MLP its config describes: {why}")
