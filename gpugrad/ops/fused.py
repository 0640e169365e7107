"""Fused ops: softmax cross-entropy and linear (+ ReLU).

Each runs the device's compiled kernel when the backend has one (``backend.kernels``)
and otherwise its composed array path, which is also the reference the tests hold the
kernels to. Their backward uses the kernels too; when a graph of the backward is being
recorded (``create_graph=True``) it is written with gpugrad ops instead, so these ops
stay differentiable to any order.
"""

import math

from .. import functional as F
from ..autograd.grad_mode import state
from ..backend.base import asum, matmul
from ..dtypes import is_half
from .base import Op


class SoftmaxCrossEntropy(Op):
    """Per-row loss of logits x (n, c) against class indices t (n,):
    keep * ((1 - eps) w_t (lse - z_t) + eps / c * sum_j w_j (lse - z_j)), z = x - m for the row's
    shift m (its largest logit) and lse = log sum_j exp(z_j): the log-probabilities z - lse in
    PyTorch's order. ``lse`` is what forward keeps (on the CPU; the CUDA kernels keep m too);
    m + lse is never formed, as it would round log(c) away next to a logit of 1e30."""

    __slots__ = ("ignore_index", "eps", "weight", "reduction", "lse", "c", "scale", "want_grad", "pregrad", "wide")
    ieee = True

    def __init__(self, ignore_index, eps, weight, reduction="none", want_grad=False, wide=False):
        self.ignore_index, self.eps, self.weight = ignore_index, eps, weight  # weight: array or None
        self.reduction, self.want_grad, self.pregrad = reduction, want_grad, None
        # float32 losses of float16/bfloat16 logits (autocast's float32 loss), on kernels that
        # widen each logit as they read it (``wide_kernels``); the logits' gradient keeps their dtype
        self.wide = wide

    @staticmethod
    def wide_kernels(backend, dtype):
        """Whether ``backend``'s kernels give float32 losses of ``dtype`` logits directly."""
        k = backend.kernels
        return is_half(dtype) and k is not None and k.device_reduction and k.supports(dtype)

    def forward(self, b, x, t):
        self.c = x.shape[1]
        if b.kernels is not None and b.kernels.supports(x.dtype):
            if b.kernels.device_reduction:
                # one launch that also reduces; scale stays on the device (no host read)
                out, self.lse, self.scale = b.kernels.cross_entropy_fwd(x, t, self.weight, self.ignore_index, self.eps,
                                                                        self.reduction, wide=self.wide)
                return out
            if self.want_grad and self.reduction != "none":
                # a training step: every row's upstream gradient is the same number (the
                # mean's 1/total or the sum's 1), so the gradient for an upstream 1 comes out
                # of the same sweep as the loss; backward then only scales it (or not at all)
                loss, self.lse, wt, self.pregrad = b.kernels.cross_entropy_fwd_bwd(
                    x, t, self.weight, self.ignore_index, self.eps, 1.0, self.reduction == "mean")
            else:
                loss, self.lse, wt = b.kernels.cross_entropy_fwd(x, t, self.weight, self.ignore_index, self.eps)
        else:
            loss = self._forward_composed(b, x, t)
            wt = None
        return self._reduce(b.xp, loss, wt, t, x.dtype)

    def _reduce(self, xp, loss, wt, t, dtype):
        """'none': the rows; 'sum'; 'mean': divided by the counted targets' summed weight ``wt``
        as PyTorch divides, whatever it is: an all-ignored batch gives NaN (0 / 0), counted
        weights summing to 0 inf or NaN, a negative sum flips the sign. ``scale`` is
        d(result)/d(row). Runs in forward, where IEEE results raise no warning."""
        if self.reduction == "none":
            self.scale = None
            return loss
        if self.reduction == "sum":
            self.scale = 1.0
            return loss.sum(dtype=dtype)
        if wt is None:
            keep = t != self.ignore_index
            wt = xp.where(keep, self.weight[xp.where(keep, t, 0)], 0) if self.weight is not None else keep
        total = wt.sum(dtype=dtype)
        self.scale = 1 / total
        return xp.asarray(loss.sum(dtype=dtype) / total, dtype=dtype)

    def _row_grad(self, gy):
        """The upstream gradient per row (a tensor of shape (n,))."""
        if self.scale is None:
            return gy
        x = self.inputs[0]
        scale = self.scale if isinstance(self.scale, float) else x._like(x._backend.xp.asarray(self.scale, gy.dtype))
        return (gy * scale).expand(x.shape[0])

    def _forward_composed(self, b, x, t):
        xp = b.xp
        c, eps, w = self.c, self.eps, self.weight
        keep = t != self.ignore_index
        bad = keep & ((t < 0) | (t >= c))
        if t.size:
            b.check(lambda: (bad.any(), xp.argmax(bad), t[xp.argmax(bad)]),
                    f"[cross_entropy] target {{value}} of row {{position}} is outside [0, {c - 1}] "
                    f"(and is not ignore_index={self.ignore_index})")
        ts = xp.where(keep, t, 0)
        z = x - _shift(xp, x)[:, None]
        lse = xp.log(asum(xp.exp(z), 1))
        self.lse = lse
        zt = xp.take_along_axis(z, ts[:, None], axis=1)[:, 0]
        wt = (w[ts] if w is not None else xp.ones_like(lse)) * keep
        loss = wt * (lse - zt)
        if eps:  # only then are the other classes' weights read (a NaN one of an unused class costs nothing)
            big_w = w.sum() if w is not None else c
            ws = asum(z * w, 1) if w is not None else asum(z, 1)
            loss = (1 - eps) * loss + eps * keep * (big_w * lse - ws) / c
        # an ignored row counts nothing, also when its logits hold NaN or inf (as the kernels)
        return xp.where(keep, loss, 0).astype(x.dtype, copy=False)

    def backward(self, gy):
        x, t = self.saved(0), self.saved(1)  # the targets are read again: changed in place, they'd change the gradient
        if self.pregrad is not None and not state.grad_enabled:
            gx, self.pregrad = self.pregrad, None  # handed out once; a second backward recomputes
            g = float(gy.array)
            return x._like(gx if g == 1.0 else gx * x.dtype.type(g)), None
        if state.grad_enabled:
            with x._backend.quiet():  # IEEE results (a mean over no weight, NaN rows) without warnings
                if self.wide:  # the float32 loss's formulas, on the widened logits
                    return self._backward_graph(self._row_grad(gy), x.float(), t).to(x.dtype), None
                return self._backward_graph(self._row_grad(gy), x, t), None
        b = x._backend
        k = b.kernels if b.kernels is not None and b.kernels.supports(x.dtype) else None
        if k is not None and k.device_reduction:  # upstream and scale are read on the device
            return x._like(k.cross_entropy_bwd(x.array, t.array, self.weight, self.lse, gy.array, self.ignore_index,
                                               self.eps, self.scale)), None
        gy = self._row_grad(gy)
        if k is not None:
            g = gy.array
            if not g.flags.c_contiguous:  # the reduced forms hand every row the same value
                g = b.xp.full(x.shape[0], g.reshape(-1)[0], dtype=x.dtype) if self.scale is not None else \
                    b.xp.ascontiguousarray(g)
            gx = k.cross_entropy_bwd(x.array, t.array, self.weight, self.lse, g, self.ignore_index, self.eps)
            return x._like(gx), None
        with b.quiet():  # IEEE results (NaN rows) without NumPy's warnings, as in forward
            return x._like(self._backward_composed(b.xp, x.array, t.array, gy.array)), None

    def _coefficients(self, xp, t, dtype):
        """keep (0/1), the targets (0 where ignored), w_t, and the coefficient of p_j:
        (1 - eps) w_t + eps W / c, whose smoothing part (and W) exists only with smoothing.
        An ignored row's w_t and coefficient are 0 exactly (not class 0's weight times 0)."""
        c, w, eps = self.c, self.weight, self.eps
        kept = t != self.ignore_index
        keep = kept.astype(dtype)
        ts = xp.where(kept, t, 0)
        wt = xp.where(kept, w[ts], 0).astype(dtype, copy=False) if w is not None else keep
        coef = (1 - eps) * wt + eps * (w.sum() if w is not None else c) / c if eps else wt
        return keep, ts, wt, xp.where(kept, coef, 0)

    def _backward_composed(self, xp, x, t, g):
        # d loss_i / d x_ij = keep ((1 - eps) w_t (p_j - [j = t]) + eps (W p_j - w_j) / c)
        keep, ts, wt, coef = self._coefficients(xp, t, x.dtype)
        c, eps = self.c, self.eps
        p = xp.exp((x - _shift(xp, x)[:, None]) - self.lse[:, None])
        gk = xp.where(keep != 0, g, 0)  # not g * 0: g is inf where a mean divides by 0
        gx = (gk * coef)[:, None] * p
        if eps:
            gx -= (gk * eps / c)[:, None] * (self.weight[None, :] if self.weight is not None else 1.0)
        rows = xp.arange(x.shape[0])
        gx[rows, ts] -= gk * (1 - eps) * wt
        return gx  # an ignored row: 0 p, NaN where its log-probabilities are (PyTorch's 0 - p * 0)

    def _backward_graph(self, gy, x, t):
        xp = x._backend.xp
        keep, ts, wt, coef = self._coefficients(xp, t.array, x.dtype)
        c, eps = self.c, self.eps
        gk = F.where(x._like(keep != 0), gy, 0.0)  # not gy * 0: gy is inf where a mean divides by 0
        # softmax, made NaN in a row whose log-probabilities are NaN (a +inf logit: softmax
        # would leave the other classes at 0), as the first-order paths and PyTorch have it
        nan_rows = x._like(0 * xp.asarray(self.lse if self.lse.ndim == 1 else self.lse[0], x.dtype)[:, None])
        gx = (gk * x._like(coef)).unsqueeze(1) * (F.softmax(x, 1) + nan_rows)
        if eps:
            w_row = x._like(self.weight[None, :] if self.weight is not None else xp.ones((1, c), x.dtype))
            gx = gx - (gk * (eps / c)).unsqueeze(1) * w_row
        onehot = x._like((ts[:, None] == xp.arange(c)[None, :]).astype(x.dtype))
        return gx - onehot * (gk * x._like((1 - eps) * wt)).unsqueeze(1)


def _shift(xp, x):
    """Each row's shift: its largest logit, or 0 for a row of -inf (an empty row too). A row
    holding +inf or NaN is shifted by that, as PyTorch's log_softmax shifts it: its lse, loss,
    log-probabilities and gradient are NaN. The backward pass takes it again from x rather
    than keeping it: the native kernels keep one number per row, lse."""
    m = x.max(axis=1) if x.size else xp.zeros(x.shape[0], x.dtype)
    return xp.where(m == -xp.inf, 0, m)


def _rows(shape):
    """The rows of an (..., k) array seen as a matrix: spelled out rather than -1, which
    NumPy cannot infer for an empty array (a layer of zero width)."""
    return math.prod(shape[:-1])


class Linear(Op):
    """y = x W^T (+ b), optionally followed by ReLU, as one node: one GEMM forward; the
    ReLU mask and bias gradient in one pass around the two GEMMs of backward."""

    __slots__ = ("relu", "out2d")
    saves_output = True

    def __init__(self, relu):
        self.relu = relu

    def forward(self, b, x, w, bias=None):
        xp = b.xp
        x2 = x.reshape(_rows(x.shape), x.shape[-1])
        # 2-byte floats on the CPU: the float32 product, bias and ReLU added to it, then one
        # rounding (a half-precision GEMM's epilogue, as PyTorch's CPU kernels round)
        y = matmul(x2, w.T, wide=True)
        if bias is not None and bias.dtype != y.dtype:
            bias = bias.astype(y.dtype)
        if self.relu and b.kernels is not None and b.kernels.supports(y.dtype) and y.flags.c_contiguous:
            b.kernels.bias_relu_(y, bias)
        else:
            if bias is not None:
                y += bias
            if self.relu:
                xp.maximum(y, 0, out=y)
        return y.astype(x.dtype, copy=False).reshape(x.shape[:-1] + (w.shape[0],))

    def backward(self, gy):
        x, w = self.saved(0), self.saved(1)
        has_bias = len(self.inputs) == 3
        m, k = w.shape
        rows = _rows(x.shape)
        if state.grad_enabled:  # recording: the same formulas with gpugrad ops
            gz = F.where(self.output() > 0, gy, 0.0) if self.relu else gy
            gz2, x2 = gz.reshape(rows, m), x.reshape(rows, k)
            grads = (gz2 @ w).reshape(x.shape), gz2.mT @ x2
            return grads + ((gz2.sum(0),) if has_bias else ())
        b = x._backend
        xp = b.xp
        gy2 = gy.array.reshape(rows, m)
        x2 = x.array.reshape(rows, k)
        need_b = has_bias and self.inputs[2].requires_grad
        y2 = self.output().array.reshape(rows, m) if self.relu else None  # the ReLU mask, version-checked
        if b.kernels is not None and b.kernels.supports(gy2.dtype):  # the mask and bias sum fused around the GEMMs
            gx2, gw, gb = b.kernels.linear_backward(gy2, y2, x2, w.array, need_b, x.requires_grad, w.requires_grad)
        else:  # the composed reference
            gz2 = xp.where(y2 > 0, gy2, 0).astype(gy2.dtype, copy=False) if self.relu else gy2
            gb = asum(gz2, 0) if need_b else None
            gx2 = matmul(gz2, w.array) if x.requires_grad else None
            gw = matmul(gz2.T, x2) if w.requires_grad else None
        grads = (x._like(gx2.reshape(x.shape)) if gx2 is not None else None, x._like(gw) if gw is not None else None)
        return grads + ((x._like(gb) if gb is not None else None,) if has_bias else ())

