"""Optimizer base: parameter groups, per-parameter state, state_dict round trips."""

import numbers
import sys

from ..autograd import enable_grad, no_grad
from ..dtypes import is_floating
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from ..functional.optim import moment_dtype
from ..nn.sparse import is_sparse_grad
from ..tensor import Tensor


class Optimizer:
    """Holds ``param_groups`` (each a dict with "params" and hyper-parameters) and
    ``state`` (per parameter). Subclasses implement ``_update(group, p, grad, state)``."""

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        params = list(params)
        if not params:
            raise ArgumentError(f"[{type(self).__name__}] got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group):
        group = dict(group)
        ps = group["params"]
        group["params"] = [ps] if isinstance(ps, Tensor) else list(ps)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise ArgumentTypeError(f"[{type(self).__name__}] parameters must be tensors, got {type(p).__name__}")
            if not p.requires_grad:
                raise ArgumentError(f"[{type(self).__name__}] a parameter of shape {p.shape} does not require grad")
        # one launch updates a whole group in parallel, so a parameter listed twice would be
        # updated by two threads at once. PyTorch only warns here ("optimizer contains a
        # parameter group with duplicate parameters"); we raise
        if len({id(p) for p in group["params"]}) != len(group["params"]):
            raise ArgumentError(f"[{type(self).__name__}] optimizer contains a parameter group with duplicate parameters")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ArgumentError(f"[{type(self).__name__}] a parameter appears in more than one group")
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._check(group)
        self.param_groups.append(group)

    def _check(self, group):
        op = type(self).__name__
        if group.get("lr", 0) < 0:
            raise ArgumentError(f"[{op}] lr must be >= 0, got {group['lr']}")
        # PyTorch's implementation switches: gpugrad picks its own path (fused kernel or
        # array ops) whatever foreach/fused say, but cannot give what these two promise
        if group.get("capturable"):
            raise ArgumentError(f"[{op}] expected capturable=False, got True: gpugrad has no CUDA graphs to capture "
                                "an optimizer step in")
        if group.get("differentiable"):
            raise ArgumentError(f"[{op}] expected differentiable=False, got True: gpugrad does not record the "
                                "optimizer step in the autograd graph")

    def zero_grad(self, set_to_none=True):
        for g in self.param_groups:
            for p in g["params"]:
                p.grad = None if set_to_none or p.grad is None else p.grad * 0

    def step(self, closure=None):
        """One update of every parameter that has a gradient; ``closure`` (re-computing
        and returning the loss) is called first when given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                params = [p for p in group["params"] if p.grad is not None]
                if params:
                    self._step_group(group, params)
        return loss

    def _step_group(self, group, params):
        """Update the parameters of one group that have gradients (fused optimizers
        override this to do them all in one call)."""
        for p in params:
            self._update(group, p, self._grad(p), self.state.setdefault(p, {}))

    sparse = False  # SparseAdam takes row-sparse gradients; the others refuse them

    def _grad(self, p):
        g = p.grad
        if is_sparse_grad(g) != self.sparse:
            kind = "a sparse" if is_sparse_grad(g) else "a dense"
            raise ArgumentTypeError(
                f"[{type(self).__name__}] got {kind} gradient for a parameter of shape {p.shape}; "
                + ("use SparseAdam for Embedding(sparse=True)" if is_sparse_grad(g) else "it needs sparse ones")
            )
        return g

    def _update(self, group, p, grad, state):
        raise NotImplementedError

    # -- state ------------------------------------------------------------------------
    def state_dict(self):
        """{"state": {index: {name: tensor or number}}, "param_groups": [...]} with
        parameters named by their position across groups, as PyTorch does."""
        index = {}
        groups = []
        for g in self.param_groups:
            entry = {k: v for k, v in g.items() if k != "params"}
            entry["params"] = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                entry["params"].append(index[id(p)])
            groups.append(entry)
        state = {}
        for g in self.param_groups:
            for p in g["params"]:
                if p in self.state and self.state[p]:
                    state[index[id(p)]] = dict(self.state[p])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Take the state and hyper-parameters of ``state_dict`` (as ``state_dict()`` gives
        them, parameters by position). All of it is checked before anything changes: every
        state tensor must have its parameter's shape and a floating dtype (it is cast to the
        parameter's ``moment_dtype`` and moved to its device, as PyTorch casts floating state
        to the parameter's dtype and device), ``step`` must be an int >= 0, the plain-number
        state an optimizer names in ``_scalar_state`` a finite number >= 0 (LBFGS checks its
        own kinds of state), every hyper-parameter of the kind of this optimizer's own (a
        number finite and >= 0, betas also < 1; foreach/fused None or a bool) and the groups
        as they would be must pass the constructor's checks (``_check``)."""
        op = f"{type(self).__name__}.load_state_dict"
        if not (isinstance(state_dict, dict) and isinstance(state_dict.get("param_groups"), list)
                and isinstance(state_dict.get("state"), dict)):  # fmt: skip
            raise ArgumentTypeError(f"[{op}] expected a dict with a list 'param_groups' and a dict 'state', "
                                    f"got {_shown(state_dict)}")
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ArgumentError(f"[{op}] {len(groups)} parameter groups saved, {len(self.param_groups)} here")
        params, hypers = {}, []
        for i, (saved, own) in enumerate(zip(groups, self.param_groups)):
            ids = saved.get("params") if isinstance(saved, dict) else None
            if not (isinstance(ids, list) and all(type(k) is int for k in ids)):
                raise ArgumentTypeError(f"[{op}] expected group {i} to be a dict whose 'params' is a list of parameter "
                                        f"indices, got {_shown(saved)}")
            if len(ids) != len(own["params"]):
                raise ArgumentError(f"[{op}] a group has {len(ids)} parameters saved, {len(own['params'])} here")
            for k, p in zip(ids, own["params"]):
                if k in params:
                    raise ArgumentError(f"[{op}] parameter index {k} appears twice in the saved groups")
                params[k] = p
            hypers.append({key: _hyper(op, i, key, v, own.get(key, self.defaults.get(key)))
                           for key, v in saved.items() if key != "params"})  # fmt: skip
        new_state = {}
        for k, st in state_dict["state"].items():
            # "0" for 0: a state_dict that went through JSON
            index = int(k) if isinstance(k, str) and k.isascii() and k.isdigit() else k
            p = params.get(index) if type(index) is int else None
            if p is None:
                raise ArgumentError(f"[{op}] state for unknown parameter {k!r}")
            if not isinstance(st, dict):
                raise ArgumentTypeError(f"[{op}] expected the state of parameter {k} to be a dict, got {_shown(st)}")
            new_state[p] = {key: self._load_state(op, f"state {key!r} of parameter {k}", p, key, v)
                            for key, v in st.items()}  # fmt: skip
        for hyper, own in zip(hypers, self.param_groups):
            self._check({**own, **hyper})
        self.state = new_state
        for hyper, own in zip(hypers, self.param_groups):
            own.update(hyper)

    _scalar_state = ()  # names of per-parameter state that is a plain number (NAdam's mu_product)

    def _load_state(self, op, where, p, key, v):
        """One saved state entry of parameter ``p``, checked (and cast) as ``load_state_dict``
        keeps it; optimizers with state of another kind extend it."""
        if key in self._scalar_state:
            return float(_number(op, where, v))
        return _state(op, where, p, key, v)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines + [")"])


def _shown(v):
    return type(v).__name__ if isinstance(v, (dict, list, tuple, Tensor)) else repr(v)


def _number(op, where, v, below_one=False):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise ArgumentTypeError(f"[{op}] expected {where} to be a number, got {v!r}")
    if not (0 <= v <= sys.float_info.max and (v < 1 or not below_one)):  # NaN fails, and an int beyond floats
        bound = " and < 1" if below_one else ""
        raise ArgumentError(f"[{op}] expected {where} to be a finite number >= 0{bound}, got {v!r}")
    return v


_CHOICES = {  # hyper-parameters that are None or one of a few values
    "foreach": (None, True, False), "fused": (None, True, False), "line_search_fn": (None, "strong_wolfe"),
}
_COUNTS = ("max_iter", "max_eval", "history_size")  # LBFGS's whole numbers


def _hyper(op, group, key, v, like):
    """A saved hyper-parameter ``v``, checked against the kind of this group's value ``like``
    (None for a key the group lacks, such as the initial_lr of a scheduler: a number)."""
    where = f"hyper-parameter {key!r} of group {group}"
    if key in _CHOICES:
        if not any(v is c or (type(v) is type(c) and v == c) for c in _CHOICES[key]):
            raise ArgumentTypeError(f"[{op}] expected {where} to be one of {_CHOICES[key]}, got {v!r}")
        return v
    if key in _COUNTS:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise ArgumentTypeError(f"[{op}] expected {where} to be an int >= 0, got {v!r}")
        return int(v)
    if isinstance(like, bool):
        if not isinstance(v, bool):
            raise ArgumentTypeError(f"[{op}] expected {where} to be a bool, got {v!r}")
        return v
    if isinstance(like, tuple):  # betas; a list after a trip through JSON
        if not (isinstance(v, (tuple, list)) and len(v) == len(like)):
            raise ArgumentTypeError(f"[{op}] expected {where} to be a tuple of {len(like)} numbers, got {v!r}")
        # the optimizers' one tuple is betas, which their constructors hold in [0, 1)
        return tuple(_number(op, f"hyper-parameter '{key}[{j}]' of group {group}", x, below_one=key == "betas")
                     for j, x in enumerate(v))  # fmt: skip
    if like is None or isinstance(like, numbers.Real):
        return _number(op, where, v)
    if type(v) is not type(like):
        raise ArgumentTypeError(f"[{op}] expected {where} to be a {type(like).__name__}, got {v!r}")
    return v


def _state(op, where, p, key, v):
    if key == "step":
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise ArgumentTypeError(f"[{op}] expected {where} to be an int >= 0 (below 2**63), got {v!r}")
        if not 0 <= v < 2**63:  # the optimizers raise their betas to it, as floats
            raise ArgumentError(f"[{op}] expected {where} to be an int >= 0 (below 2**63), got {v!r}")
        return int(v)
    if not isinstance(v, Tensor):
        raise ArgumentTypeError(f"[{op}] expected {where} to be a tensor, got {type(v).__name__}")
    if v.shape != p.shape:
        raise ShapeError(f"[{op}] expected {where} to have the parameter's shape {p.shape}, got {v.shape}")
    want = moment_dtype(p.dtype)
    if not is_floating(v.dtype):
        raise DTypeError(f"[{op}] expected {where} to be a floating tensor (it is cast to {want}), got {v.dtype}")
    # moment_dtype, float32 for 2-byte parameters: state saved when float16 parameters kept
    # float16 moments is upcast; a float32 buffer of a float64 parameter is widened, not read
    # by the kernels as float64 past its end
    return v.to(p.device, dtype=want).clone()
