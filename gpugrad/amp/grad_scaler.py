"""GradScaler: loss scaling for low-precision training, as ``torch.amp.GradScaler``.

The loss is multiplied by the scale before backward, so that small float16 gradients do
not flush to zero; ``unscale_`` divides the gradients back (clipping then sees the true
ones) and checks them for inf/NaN; ``step`` skips the optimizer's step when any was found;
``update`` halves the scale after such a step and doubles it after ``growth_interval``
clean ones.

``unscale_`` groups the gradients by device and dtype. A group whose device has a fused
kernel for its dtype (``backend.kernels.amp_unscale_``: the CPU extension for float32 and
float64, the CUDA kernels for every float type) is multiplied and checked in one pass over
each gradient by one call for the group (on a GPU one launch per 128 gradients, reading
1/scale from the device), into a flag on the device. The rest (no kernel, or a gradient
the kernel cannot update in place, such as a strided view) take two array passes
(``_amp_unscale``). The verdicts are combined on the devices and read once, in ``step``:
one host read per step, not one per parameter."""

import numbers

import gpugrad as gg

from ..errors import ArgumentError, ArgumentTypeError, GpugradError

_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


class GradScalerError(GpugradError, RuntimeError):
    """GradScaler used out of order (unscale_ twice, step twice, update with no check)."""


class GradScaler:
    def __init__(self, device="cuda", init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                 enabled=True):
        _check_settings("GradScaler", {"init_scale": init_scale, "growth_factor": growth_factor,
                                       "backoff_factor": backoff_factor, "growth_interval": growth_interval})
        self._device = str(device)
        self._enabled = bool(enabled)
        self._init_scale, self._growth_factor = float(init_scale), float(growth_factor)
        self._backoff_factor, self._growth_interval = float(backoff_factor), int(growth_interval)
        self._scale = None  # a float32 tensor on the device of the first outputs scaled
        self._growth_tracker = 0
        self._states = {}  # id(optimizer) -> {"stage": ..., "found_inf": 0-d tensor or None}

    # -- scaling ---------------------------------------------------------------------------
    def scale(self, outputs):
        """``outputs`` (a tensor, or lists/tuples/dicts of them) multiplied by the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, gg.Tensor):
            return outputs * self._scale_on(outputs.device)
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        if isinstance(outputs, dict):
            return {k: self.scale(v) for k, v in outputs.items()}
        raise ArgumentTypeError(f"[GradScaler.scale] expected a tensor or lists/tuples of them, got "
                                f"{type(outputs).__name__}")

    def _scale_on(self, device):
        if self._scale is None:
            self._scale = gg.tensor(self._init_scale, dtype=gg.float32, device=device)
        return self._scale if str(self._scale.device) == str(gg.device(device)) else self._scale.to(device)

    def _state(self, optimizer):
        return self._states.setdefault(id(optimizer), {"stage": _READY, "found_inf": None})

    def unscale_(self, optimizer):
        """Divide ``optimizer``'s gradients by the scale, in place, and note whether any of
        them holds inf or NaN. Once per optimizer between updates."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise GradScalerError("[GradScaler.unscale_] unscale_() has already been called on this optimizer since "
                                  "the last update()")
        if state["stage"] == _STEPPED:
            raise GradScalerError("[GradScaler.unscale_] unscale_() is being called after step()")
        if self._scale is None:
            raise GradScalerError("[GradScaler.unscale_] nothing was scaled yet: call scaler.scale(loss).backward() "
                                  "first")
        inv = (1.0 / self._scale.double()).float()  # as PyTorch: the reciprocal in float64, used as float32
        from ..nn.sparse import is_sparse_grad  # not at import: gpugrad.functional imports gpugrad.amp

        groups = {}  # (device, dtype) -> gradients; all checked before any is changed
        for group in optimizer.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if is_sparse_grad(g):
                    raise ArgumentTypeError("[GradScaler.unscale_] row-sparse gradients (Embedding(sparse=True)) "
                                            "are not supported: use a dense Embedding with GradScaler")
                if g.dtype == gg.float16:
                    raise ArgumentError("[GradScaler.unscale_] attempting to unscale float16 gradients: keep the "
                                        "parameters (the master weights) in float32 and let autocast run the ops in "
                                        "float16")
                groups.setdefault((str(g.device), g.dtype), []).append(g)
        found = gg.tensor(False, device=self._scale.device)
        with gg.no_grad():
            for grads in groups.values():
                # combined where the scale is (a GPU, as a rule): moving a CPU group's flag
                # there is no host read, while moving a GPU's flag to the CPU would be one
                found = found | _unscale_group(grads, inv.to(grads[0].device)).to(found.device)
        state["found_inf"] = found
        state["stage"] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step()`` unless the gradients hold inf or NaN (unscaling them first
        if ``unscale_`` was not called). Returns what the step returned, or None."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise GradScalerError("[GradScaler.step] closure use is not supported with GradScaler")
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise GradScalerError("[GradScaler.step] step() has already been called since the last update()")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        result = None
        state["found_inf"] = bool(state["found_inf"].item())  # the one host read of the step
        if not state["found_inf"]:
            result = optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale=None):
        """After the step(s): back off after inf/NaN, grow after ``growth_interval`` clean
        steps in a row; or set ``new_scale`` (a number or a 1-element tensor)."""
        if not self._enabled:
            return
        if self._scale is None:
            raise GradScalerError("[GradScaler.update] nothing was scaled yet")
        if new_scale is not None:
            value = float(new_scale.item() if isinstance(new_scale, gg.Tensor) else new_scale)
            if not 0 < value < float("inf"):
                raise ArgumentError(f"[GradScaler.update] expected new_scale to be a positive finite number, got "
                                    f"{new_scale!r}")
            self._scale = gg.tensor(value, dtype=gg.float32, device=self._scale.device)
        else:
            found = [s["found_inf"] for s in self._states.values() if s["found_inf"] is not None]
            if not found:
                raise GradScalerError("[GradScaler.update] no inf checks were recorded prior to update(): call "
                                      "scaler.step(optimizer) (or unscale_) first")
            if any(f if isinstance(f, bool) else bool(f.item()) for f in found):  # read in step() already
                self._scale = self._scale * self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    self._scale = self._scale * self._growth_factor
                    self._growth_tracker = 0
        self._states.clear()

    # -- settings and state ---------------------------------------------------------------------
    def get_scale(self):
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale.item())

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = int(new_interval)

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor, "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if not isinstance(state_dict, dict):
            raise ArgumentTypeError(f"[GradScaler.load_state_dict] expected a dict, got {type(state_dict).__name__}")
        if len(state_dict) == 0:
            raise GradScalerError("[GradScaler.load_state_dict] the source state dict is empty, possibly because it "
                                  "was saved from a disabled instance of GradScaler")
        missing = [k for k in ("scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker")
                   if k not in state_dict]
        if missing:
            raise ArgumentError(f"[GradScaler.load_state_dict] expected the keys of GradScaler.state_dict(), missing "
                                f"{', '.join(missing)}")
        _check_settings("GradScaler.load_state_dict", state_dict)  # a damaged file must not set a NaN scale
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale = gg.tensor(self._init_scale, dtype=gg.float32, device=self._scale.device)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])


_SETTINGS = {  # name -> (test, what it must be)
    "init_scale": (lambda v: 0 < v < float("inf"), "a positive finite number"),
    "scale": (lambda v: 0 < v < float("inf"), "a positive finite number"),
    "growth_factor": (lambda v: 1 < v < float("inf"), "a finite number above 1"),
    "backoff_factor": (lambda v: 0 < v < 1, "a number between 0 and 1"),
    "growth_interval": (lambda v: isinstance(v, numbers.Integral) and v >= 1, "a positive integer"),
    "_growth_tracker": (lambda v: isinstance(v, numbers.Integral) and v >= 0, "an integer >= 0"),
}


def _check_settings(op, values):
    for arg, value in values.items():
        ok, want = _SETTINGS.get(arg, (None, None))
        if ok is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real) or not ok(value)):
            raise ArgumentError(f"[{op}] expected {arg} to be {want}, got {value!r}")


def _unscale_group(grads, inv):
    """Multiply ``grads`` (tensors of one device and dtype) by ``inv`` (a float32 0-d tensor
    on their device) in place; a 0-d bool tensor on the device: whether any product is inf
    or NaN. One fused call for every gradient the device's kernel takes in place."""
    backend = grads[0]._backend
    kernels = backend.kernels
    fused = kernels is not None and kernels.supports(grads[0].dtype)
    direct, rest = [], []
    for g in grads:
        (direct if fused and _in_place(g.array) else rest).append(g)
    verdicts = [_amp_unscale(g, inv) for g in rest]
    if direct:
        flag = gg.zeros((), dtype=gg.int32, device=grads[0].device)
        with backend.scope():
            kernels.amp_unscale_([g.array for g in direct], flag.array, inv.array)
        for g in direct:
            g._vc[0] += 1  # changed in place, as mul_ counts it
        verdicts.append(flag != 0)
    found = verdicts[0]
    for bad in verdicts[1:]:
        found = found | bad
    return found


def _in_place(a):
    """Whether a kernel can update array ``a`` in place: C-contiguous, and on the CPU also
    aligned and writeable (CuPy's flags name neither: device memory is both)."""
    flags = a.flags
    return flags.c_contiguous and getattr(flags, "aligned", True) and getattr(flags, "writeable", True)


def _amp_unscale(g, inv):
    """Multiply gradient ``g`` by ``inv`` in place; a 0-d bool tensor on g's device: whether
    the product holds inf or NaN (one that overflowed, too: no warning for it, as none from
    the kernels)."""
    with g._backend.quiet():
        g.mul_(inv)
    return ~gg.isfinite(g).all()
