"""Op: one node of the graph, with its forward (on arrays) and backward (on Tensors).

``Op()(*tensors)`` runs ``forward(backend, *arrays)`` and, when grad mode is on and an
input requires grad, links the outputs to the op. ``backward(*gys)`` is written with
gpugrad ops on Tensors, so when the engine runs it with grad mode on
(``create_graph=True``) the backward pass is itself a graph that can be differentiated
again. Float outputs of a recorded op require grad; integer and bool outputs never do.
"""

import traceback

from ..autograd.grad_mode import module_context, state
from ..dtypes import is_floating
from ..errors import AnomalyError, ArgumentTypeError, AutogradError, DeviceError, InplaceError
from ..tensor import Tensor

_wrap = Tensor._wrap


class Op:
    __slots__ = ("inputs", "_versions", "_out", "hooks", "trace")
    n_out = 1
    saves_output = False  # forward's output is kept for backward (reach it with .output())
    # forward may give inf or NaN by IEEE rules (log 0, 1/0, exp overflow): as in PyTorch,
    # the values come without NumPy's RuntimeWarning
    ieee = False

    @property
    def name(self):
        return type(self).__name__

    def forward(self, backend, *xs):
        raise NotImplementedError

    def backward(self, *gys):
        raise NotImplementedError

    def __call__(self, *inputs):
        x0 = inputs[0]
        try:
            backend = x0._backend
            if len(inputs) == 1:
                rg = x0.requires_grad
                xs = (x0.array,)
            else:
                rg = False
                for t in inputs:
                    if t._backend is not backend:
                        raise DeviceError(
                            f"[{self.name}] expected all tensors on one device, got {x0.device} and {t.device}"
                        )
                    if t.requires_grad:
                        rg = True
                xs = [t.array for t in inputs]
        except AttributeError:
            got = ", ".join(type(t).__name__ for t in inputs)
            raise ArgumentTypeError(f"[{self.name}] expected Tensor inputs, got ({got})") from None
        if backend.multi:  # one of several GPUs: the op runs on its tensors' device
            with backend.scope():
                return self._run(backend, inputs, xs, rg)
        return self._run(backend, inputs, xs, rg)

    def _run(self, backend, inputs, xs, rg):
        if self.ieee:
            with backend.quiet():
                ys = self.forward(backend, *xs)
        else:
            ys = self.forward(backend, *xs)
        nd = backend.ndarray
        if self.n_out == 1:
            if ys.__class__ is not nd:
                ys = backend.xp.asarray(ys)
            if not (rg and state.grad_enabled) or not is_floating(ys.dtype):
                out = _wrap(ys, backend)
                if state.anomaly:
                    _forward_anomaly(self, (out,))
                return out
            self.inputs = inputs
            self._versions = [t._vc[0] for t in inputs]
            self.hooks = None
            out = _wrap(ys, backend, self, 0, True)
            if self.saves_output:
                self._out = (ys, out._vc)
            if state.anomaly:
                self.trace = anomaly_trace()
                _forward_anomaly(self, (out,))
            return out
        ys = [y if y.__class__ is nd else backend.xp.asarray(y) for y in ys]
        record = rg and state.grad_enabled
        if record:
            self.inputs = inputs
            self._versions = [t._vc[0] for t in inputs]
            self.hooks = None
            outs = tuple(
                _wrap(y, backend, self, i, True) if is_floating(y.dtype) else _wrap(y, backend)
                for i, y in enumerate(ys)
            )
        else:
            outs = tuple(_wrap(y, backend) for y in ys)
        if state.anomaly:
            if record:
                self.trace = anomaly_trace()
            _forward_anomaly(self, outs)
        return outs

    # -- what backward may use ------------------------------------------------------
    def saved(self, i):
        """Input ``i``, after checking that no in-place op changed it since forward."""
        x = self.inputs[i]
        if x._vc[0] != self._versions[i]:
            raise InplaceError(
                f"[{self.name}] input {i} (shape {x.shape}, {x.dtype}) needed for the gradient was "
                f"modified by an in-place operation: it is at version {x._vc[0]}, expected "
                f"{self._versions[i]}. Use the out-of-place op (e.g. x = x + 1 instead of x += 1)."
            )
        return x

    def output(self):
        """The forward output as a tensor of this graph (for backward formulas that use y)."""
        y, vc = self._out
        if vc[0] != 0:
            raise InplaceError(
                f"[{self.name}] its output (shape {y.shape}, {y.dtype}) needed for the gradient "
                f"was modified by an in-place operation (version {vc[0]}, expected 0)"
            )
        return _wrap(y, self.inputs[0]._backend, self, 0, state.grad_enabled)

    def release(self):
        """Free what forward kept for backward (called by the engine unless retain_graph)."""
        self.inputs = None
        self._out = None

    def __repr__(self):
        return f"<{self.name}>"


class OnceDifferentiable(Op):
    """For ops whose backward is a raw-array formula rather than gpugrad ops: the gradient
    is correct, but differentiating it again raises instead of silently returning zero."""

    __slots__ = ()

    def backward(self, *gys):
        if state.grad_enabled:
            raise AutogradError(
                f"[{self.name}] is differentiable once only: its backward cannot be "
                f"differentiated again (create_graph=True). {self.double_backward_hint}"
            )
        return self.backward_once(*gys)

    double_backward_hint = ""

    def backward_once(self, *gys):
        raise NotImplementedError


def anomaly_trace():
    """Where an op is being made, kept in anomaly mode for a backward anomaly to report: the
    modules being called (named only if one is reported) and the user's stack."""
    return tuple(state.modules), user_stack()


def user_stack(limit=8):
    """The innermost ``limit`` frames of the caller's stack outside gpugrad itself."""
    frames = [f for f in traceback.extract_stack() if not f.filename.startswith(_PKG_DIR)]
    return traceback.format_list(frames[-limit:])


_PKG_DIR = __file__.rsplit("/ops/", 1)[0]


def _forward_anomaly(op, outs):
    for k, out in enumerate(outs):
        if is_floating(out.dtype) and not bool(out._backend.xp.isfinite(out.array).all()):
            where = "".join(user_stack())
            raise AnomalyError(
                f"[{op.name}] forward output {k} contains NaN or Inf (anomaly mode)"
                f"{module_context(state.modules)}. It was created at:\n{where}"
            )

