"""DistributedDataParallel: the model's gradients averaged over the ranks during backward.

At construction rank 0's parameters and buffers are broadcast to every rank. The
parameters are laid out in buckets of about ``bucket_cap_mb`` (reverse registration order,
the order backward finishes them in), each of one device and dtype. A post-accumulate
hook on every parameter counts the bucket's finished gradients; when the next bucket in
line is complete its gradients are packed into one flat tensor and an asynchronous
all-reduce (average) of it starts, while backward goes on with the earlier layers.
Buckets start strictly in order, so every rank issues the same collectives in the same
order. A callback queued on the backward waits for every bucket and writes the averages
back into ``.grad`` before ``backward()`` returns, so the optimizer (fused or not) reads
finished gradients. Row-sparse gradients (``Embedding(sparse=True)``) are all-gathered:
every rank's rows, values divided by the world size."""

import contextlib
import numbers

import gpugrad as gg

from ..autograd.engine import queue_callback
from ..errors import ArgumentError, ArgumentTypeError, DeviceError
from ..nn.module import Module
from ..nn.sparse import SparseGrad, is_sparse_grad
from . import collectives as C


class _Bucket:
    """Parameters whose gradients travel together in ``flat``: their values, then (with
    find_unused_parameters) one flag per parameter saying the rank has its gradient.
    ``flat`` is made at the first use and kept (fresh memory every step would cost its
    page faults every step); ``views`` are the parameters' places in it."""

    __slots__ = ("params", "offsets", "numel", "ready", "flat", "views", "work")

    def __init__(self, params):
        self.params = params
        self.offsets, n = [], 0
        for p in params:
            self.offsets.append(n)
            n += p.numel()
        self.numel = n
        self.ready = set()
        self.flat = self.views = self.work = None

    def buffer(self, flags):
        if self.flat is None:
            first = self.params[0]
            self.flat = gg.zeros(self.numel + (len(self.params) if flags else 0), dtype=first.dtype,
                                 device=first.device)
            with gg.no_grad():
                self.views = [self.flat[at:at + p.numel()].view(p.shape) for p, at in zip(self.params, self.offsets)]
        return self.flat


def _flat_broadcast(tensors):
    """Broadcast ``tensors`` from rank 0, one collective per (device, dtype)."""
    groups = {}
    for t in tensors:
        groups.setdefault((str(t.device), t.dtype), []).append(t)
    with gg.no_grad():
        for ts in groups.values():
            flat = gg.cat([t.detach().reshape(-1) for t in ts])
            C.broadcast(flat, src=0)
            at = 0
            for t in ts:
                n = t.numel()
                t.copy_(flat[at:at + n].reshape(t.shape))
                at += n


class DistributedDataParallel(Module):
    """PyTorch's ``nn.parallel.DistributedDataParallel`` on gpugrad's process group: wrap the
    model on every rank after ``init_process_group``; each rank feeds its share of the
    batch, and after ``backward()`` every rank holds the gradients averaged over all ranks.
    ``no_sync()`` skips the averaging (gradient accumulation: the next synchronised backward
    averages the sum). With ``find_unused_parameters=True`` parameters that the output does
    not depend on count as finished (the forward's graph is searched); without it, a
    backward that leaves a parameter without gradient is an error naming it."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        name = "DistributedDataParallel"
        if not isinstance(module, Module):
            raise ArgumentTypeError(f"[{name}] expected module to be a gpugrad.nn.Module, got {type(module).__name__}")
        state = C._state(name, process_group)
        if bucket_cap_mb is None:
            bucket_cap_mb = 25
        if isinstance(bucket_cap_mb, bool) or not isinstance(bucket_cap_mb, numbers.Real) or not bucket_cap_mb > 0:
            raise ArgumentError(f"[{name}] expected bucket_cap_mb to be a positive number, got {bucket_cap_mb!r}")
        if dim != 0:
            raise ArgumentError(f"[{name}] expected dim=0 (each rank feeds its own batch), got {dim!r}")
        params = [p for p in module.parameters() if p.requires_grad]
        devices = {str(p.device) for p in module.parameters()} | {str(b.device) for b in module.buffers()}
        if device_ids is not None:
            if not isinstance(device_ids, (list, tuple)) or len(device_ids) != 1:
                raise ArgumentError(f"[{name}] expected device_ids to be None or a list of the one device the "
                                    f"module is on, got {device_ids!r}")
            want = str(gg.device(device_ids[0] if not isinstance(device_ids[0], int) else f"cuda:{device_ids[0]}"))
            if devices and devices != {want}:
                raise DeviceError(f"[{name}] expected the module on device_ids[0] ({want}), got parameters on "
                                  f"{', '.join(sorted(devices))}: move it with module.to({want!r}) first")
        self.module = module
        self.device_ids = device_ids
        self.output_device = output_device
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = bool(find_unused_parameters)
        self.static_graph = bool(static_graph)
        self.gradient_as_bucket_view = bool(gradient_as_bucket_view)
        self.bucket_cap_mb = bucket_cap_mb
        self.require_backward_grad_sync = True
        self._world = state["comm"].Get_size()
        _flat_broadcast([p for p in module.parameters()] + [b for b in module.buffers() if b is not None])
        names = {id(p): n for n, p in module.named_parameters()}
        self._names = names
        sparse_ids = {id(m.weight) for m in module.modules() if getattr(m, "sparse", False) is True
                      and getattr(m, "weight", None) is not None}
        self._sparse = [p for p in params if id(p) in sparse_ids]
        self._buckets = self._layout([p for p in reversed(params) if id(p) not in sparse_ids],
                                     int(bucket_cap_mb * 2**20))
        self._bucket_of = {id(p): b for b in self._buckets for p in b.params}
        self._handles = [p.register_post_accumulate_grad_hook(self._ready) for p in params]
        self._sync_backward = True
        self._unused = ()
        self._reset()

    @staticmethod
    def _layout(params, cap):
        buckets, current, size, key = [], [], 0, None
        for p in params:
            k = (str(p.device), p.dtype)
            nbytes = p.numel() * p.element_size()
            if current and (k != key or size + nbytes > cap):
                buckets.append(_Bucket(current))
                current, size = [], 0
            current.append(p)
            size += nbytes
            key = k
        if current:
            buckets.append(_Bucket(current))
        return buckets

    def _reset(self):
        self._queued = False
        self._next = 0  # the next bucket to start: buckets start in order on every rank
        self._sparse_ready = set()
        for b in self._buckets:
            b.ready.clear()
            b.work = None

    # -- forward --------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        if self._queued:  # the last backward raised before its end: finish what it started, drop the rest
            try:
                for b in self._buckets[:self._next]:
                    b.work.wait()
            finally:
                self._reset()
        if self.broadcast_buffers:
            buffers = [b for b in self.module.buffers() if b is not None]
            if buffers:
                _flat_broadcast(buffers)
        out = self.module(*args, **kwargs)
        if gg.is_grad_enabled():
            self._sync_backward = self.require_backward_grad_sync
            if self.find_unused_parameters and self._sync_backward:
                used = _reachable_leaves(out)
                self._unused = [p for b in self._buckets for p in b.params if id(p) not in used]
        return out

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes whose forward runs inside keep their gradients local (they add
        up in ``.grad``); the first synchronised backward after averages the sum."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # -- backward -------------------------------------------------------------------------
    def _ready(self, p):
        if not self._sync_backward:
            return
        if not self._queued:
            self._queued = True
            queue_callback(self._finish)
            for q in self._unused:  # counted as finished: the rank may still get gradients from others
                self._bucket_of[id(q)].ready.add(id(q))
        self._mark(p)

    def _mark(self, p):
        """``p.grad`` is final for this backward: count it, start the buckets now complete."""
        bucket = self._bucket_of.get(id(p))
        if bucket is None:
            self._sparse_ready.add(id(p))
            return
        if is_sparse_grad(p.grad):
            raise ArgumentError(f"[DistributedDataParallel] parameter {self._names.get(id(p), '?')} got a row-sparse "
                                f"gradient but its module has no sparse=True attribute")
        bucket.ready.add(id(p))
        self._start_ready_buckets()  # (the progress thread moves the started ones on)

    def _start_ready_buckets(self, force=False):
        while self._next < len(self._buckets):
            b = self._buckets[self._next]
            if not force and len(b.ready) < len(b.params):
                return
            self._start(b)
            self._next += 1

    def _start(self, b):
        """Pack the bucket's gradients divided by the world size (one pass: the sum over the
        ranks is then the average, as PyTorch's DDP divides before its all-reduce) and start
        summing them over the ranks."""
        flags = self.find_unused_parameters
        flat = b.buffer(flags)
        scale = 1.0 / self._world
        with gg.no_grad():
            for i, (p, view) in enumerate(zip(b.params, b.views)):
                g = p.grad
                if g is None:
                    view.zero_()
                elif g is view:  # gradient_as_bucket_view: the gradient is in the bucket already
                    view.mul_(scale)
                else:
                    xp = view._backend.xp
                    xp.multiply(g.array, scale, out=view.array, casting="unsafe")
                    if self.gradient_as_bucket_view:
                        p.grad = view
                if flags:
                    flat[b.numel + i] = 0.0 if g is None else 1.0
        b.work = C.all_reduce(flat, op=C.ReduceOp.SUM, async_op=True)

    def _finish(self):
        """End of a synchronised backward: start what is left, wait, write the averages."""
        try:
            waiting = {id(p) for b in self._buckets[self._next:] for p in b.params if id(p) not in b.ready}
            missing = [name for key, name in self._names.items() if key in waiting]
            if missing and not self.find_unused_parameters:
                for b in self._buckets[:self._next]:
                    b.work.wait()
                raise C.DistributedError(
                    f"[DistributedDataParallel] parameters that got no gradient in this backward: "
                    f"{', '.join(missing)}; every rank must reduce every parameter: pass "
                    f"find_unused_parameters=True when parts of the model are not used in every step")
            self._start_ready_buckets(force=True)
            for b in self._buckets:
                b.work.wait()
                self._write_back(b)
            self._reduce_sparse()
        finally:
            self._reset()

    def _write_back(self, b):
        """The averages into ``.grad`` (nothing to do for gradients that are bucket views)."""
        used = b.flat[b.numel:].cpu().tolist() if self.find_unused_parameters else None
        with gg.no_grad():
            for i, (p, view) in enumerate(zip(b.params, b.views)):
                if used is not None and not used[i] > 0:
                    continue  # no rank has a gradient for it: .grad stays as it was
                if p.grad is None:
                    p.grad = view if self.gradient_as_bucket_view else view.clone()
                elif p.grad is not view:
                    p.grad.copy_(view)

    def _reduce_sparse(self):
        """Every rank's rows of each sparse gradient, values divided by the world size (ranks
        without one send no rows); padding rows carry zero values, which add nothing."""
        for p in self._sparse:
            g = p.grad if id(p) in self._sparse_ready else None
            if g is not None and not is_sparse_grad(g):
                raise ArgumentError(f"[DistributedDataParallel] parameter {self._names.get(id(p), '?')} of a "
                                    f"sparse=True module got a dense gradient")
            count = gg.tensor([0 if g is None else g.indices.shape[0]], dtype=gg.int64, device=p.device)
            counts = [gg.zeros_like(count) for _ in range(self._world)]
            C.all_gather(counts, count)
            most = max(int(c.item()) for c in counts)
            if most == 0:
                continue
            dim = p.shape[1:]
            idx = gg.zeros(most, dtype=gg.int64, device=p.device)
            val = gg.zeros((most,) + tuple(dim), dtype=p.dtype, device=p.device)
            if g is not None and g.indices.shape[0]:
                k = g.indices.shape[0]
                idx[:k] = g.indices.to(gg.int64)
                val[:k] = g.values
            idxs = [gg.zeros_like(idx) for _ in range(self._world)]
            vals = [gg.zeros_like(val) for _ in range(self._world)]
            C.all_gather(idxs, idx)
            C.all_gather(vals, val)
            p.grad = SparseGrad(gg.cat(idxs), gg.cat(vals) / self._world, p.shape)


def _reachable_leaves(out):
    """ids of the leaf tensors the tensors in ``out`` (nested lists, tuples, dicts) depend on."""
    stack, seen_ops, leaves = [out], set(), set()
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, gg.Tensor):
            op = x.creator
            if op is None:
                leaves.add(id(x))
            elif id(op) not in seen_ops:
                seen_ops.add(id(op))
                stack.extend(op.inputs or ())
    return leaves


__all__ = ["DistributedDataParallel"]
