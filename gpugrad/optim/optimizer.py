"""Optimizer base: parameter groups, per-parameter state, state_dict round trips."""

from ..autograd import enable_grad, no_grad
from ..errors import ArgumentError, ArgumentTypeError, ShapeError
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
        if group.get("lr", 0) < 0:
            raise ArgumentError(f"[{type(self).__name__}] lr must be >= 0, got {group['lr']}")

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
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ArgumentError(
                f"[{type(self).__name__}.load_state_dict] {len(groups)} parameter groups saved, "
                f"{len(self.param_groups)} here"
            )
        params = {}
        for saved, own in zip(groups, self.param_groups):
            if len(saved["params"]) != len(own["params"]):
                raise ArgumentError(
                    f"[{type(self).__name__}.load_state_dict] a group has {len(saved['params'])} parameters saved, "
                    f"{len(own['params'])} here"
                )
            params.update(zip(saved["params"], own["params"]))
        new_state = {}
        for k, st in state_dict["state"].items():
            p = params.get(int(k))
            if p is None:
                raise ArgumentError(f"[{type(self).__name__}.load_state_dict] state for unknown parameter {k}")
            entry = {}
            for name, v in st.items():
                if isinstance(v, Tensor):
                    if v.shape not in (p.shape, ()):
                        raise ShapeError(
                            f"[{type(self).__name__}.load_state_dict] state {name!r} of parameter {k} has shape "
                            f"{v.shape}, the parameter {p.shape}"
                        )
                    # a moment takes moment_dtype (as PyTorch casts state to the parameter's dtype):
                    # state saved when float16 parameters kept float16 moments is upcast
                    moment = v.shape == p.shape and v.dtype.kind == "f"
                    v = v.to(p.device, dtype=moment_dtype(p.dtype) if moment else None).clone()
                entry[name] = v
            new_state[p] = entry
        self.state = new_state
        for saved, own in zip(groups, self.param_groups):
            for key, v in saved.items():
                if key != "params":
                    own[key] = v

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines + [")"])
