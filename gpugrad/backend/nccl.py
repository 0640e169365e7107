"""NCCL for gpugrad.distributed (it lives with the backends: only they touch CuPy): collectives
on CUDA tensors' device memory through CuPy's NCCL binding (``cupy.cuda.nccl``), queued on the
current CUDA stream of the rank's device without host synchronisation.

MPI stays the launcher and the rendezvous: rank 0's NCCL unique id reaches the other ranks over the MPI communicator,
then every rank joins the NCCL communicator on device ``cuda:local_rank % device_count``. Data movement (broadcast,
gathers, scatter) sends the tensors' bytes, so every dtype works; reductions run in a dtype NCCL reduces (int16 in
int32, bfloat16 in float32 where NCCL lacks it, bool as uint8). ``collectives`` checks the arguments and makes the
``Work``; this module moves memory. CuPy comes from the CUDA backend, which found it."""

import importlib
import importlib.util
import warnings

import numpy as np

from ..errors import DeviceError
from . import cuda as _cuda

INSTALL_HINT = ("pip install 'nvidia-nccl-cu13' for CUDA 13 or 'nvidia-nccl-cu12' for CUDA 12 (the NCCL wheel "
                "CuPy loads libnccl.so.2 from)")
# NCCL's names for the dtypes it has; bool travels as uint8
_TYPES = {"int8": "NCCL_INT8", "uint8": "NCCL_UINT8", "bool": "NCCL_UINT8", "int32": "NCCL_INT32",
          "uint32": "NCCL_UINT32", "int64": "NCCL_INT64", "uint64": "NCCL_UINT64", "float16": "NCCL_FLOAT16",
          "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64", "bfloat16": "NCCL_BFLOAT16"}
_WIDER = {"int16": "int32", "bfloat16": "float32"}  # for dtypes this NCCL cannot reduce
_OPS = {"SUM": "NCCL_SUM", "AVG": "NCCL_AVG", "MAX": "NCCL_MAX", "MIN": "NCCL_MIN", "PRODUCT": "NCCL_PROD"}


def _load():
    """``(cupy.cuda.nccl, None)``, or ``(None, why it does not load)``. Imports CuPy's binding, which loads
    libnccl, without starting CUDA."""
    if importlib.util.find_spec("cupy") is None:
        return None, f"CuPy is not installed: {_cuda.INSTALL_HINT}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # CuPy warns when libnccl is missing; the reason below says so
            nccl = importlib.import_module("cupy.cuda.nccl")
    except Exception as exc:  # a broken CuPy install raises all sorts of things
        return None, f"CuPy failed to import: {exc!r}"
    if not getattr(nccl, "available", False):
        return None, f"CuPy cannot load the NCCL library (libnccl.so.2): {INSTALL_HINT}"
    return nccl, None


def is_nccl_available():
    """Whether CuPy's NCCL binding loads (the NCCL library is found). Starts no CUDA, so it says nothing of GPUs:
    ``init_process_group('nccl')`` also needs one. False under gpugrad's CUDA emulation, which has no NCCL."""
    try:
        return not _cuda.emulated() and _load()[0] is not None
    except Exception:  # a question, not a use: never raise
        return False


def unavailable_reason():
    """Why the NCCL backend cannot run here (no CUDA, the CUDA emulation, no NCCL library), or None."""
    reason = _cuda.probe()[2]
    if reason is not None:
        return f"CUDA is not available: {reason}"
    if _cuda.emulated():
        return "gpugrad's CUDA runs on its emulation (GPUGRAD_CUDA_EMULATION), which has no NCCL"
    return _load()[1]


def version():
    """The NCCL library's version as 'major.minor.patch'."""
    code = _load()[0].get_version()
    major, rest = divmod(code, 10000 if code >= 10000 else 1000)  # NCCL 2.9 widened the code
    return f"{major}.{rest // 100}.{rest % 100}"


class Communicator:
    """This rank's NCCL communicator on its CUDA device. Each collective is queued on the device's current CUDA
    stream (with the copies and casts around it), bumps the version of the tensors it writes, and returns the CUDA
    event recorded after it."""

    def __init__(self, comm, local_rank):
        """Join the ranks of MPI communicator ``comm`` (collective: every rank calls it)."""
        cupy = self._cupy = _cuda.require()
        nccl = self._nccl = _load()[0]
        self.index = local_rank % _cuda.probe()[1]
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        cupy.cuda.Device(self.index).use()
        uid = comm.bcast(nccl.get_unique_id() if self.rank == 0 else None, root=0)
        with cupy.cuda.Device(self.index):
            self._comm = nccl.NcclCommunicator(self.size, uid, self.rank)
        self._bytes = nccl.NCCL_UINT8
        self._bf16 = hasattr(nccl, "NCCL_BFLOAT16") and nccl.get_version() >= 21000  # NCCL 2.10 added bfloat16

    def destroy(self):
        """Free the communicator once the device has run what was queued on it."""
        self._cupy.cuda.Device(self.index).synchronize()
        self._comm.destroy()

    def array(self, t, op, name):
        """``t``'s CuPy array; ``t`` must be on this rank's device."""
        if t.device.type != "cuda" or t.device.index != self.index:
            raise DeviceError(f"[{op}] the NCCL backend works on this rank's GPU: expected {name} on cuda:{self.index}, "
                              f"got {t.device}; move it with .to('cuda:{self.index}'), or use backend='mpi' "
                              f"(any device; CUDA tensors staged through host memory)")
        return t.array

    def stream_wait(self, event):
        """Make the device's current stream wait for ``event`` (the host does not)."""
        with self._cupy.cuda.Device(self.index):
            self._cupy.cuda.get_current_stream().wait_event(event)

    def _launch(self, run, written):
        """Queue ``run(stream_ptr)`` on the current stream of the device; bump ``written``'s versions."""
        cupy = self._cupy
        with cupy.cuda.Device(self.index):
            stream = cupy.cuda.get_current_stream()
            run(stream.ptr)
            event = cupy.cuda.Event(disable_timing=True)
            event.record(stream)
        for t in written:
            t._vc[0] += 1
        return event

    def _reducible(self, dtype):
        """The dtype NCCL reduces ``dtype`` in."""
        name = dtype.name
        return dtype if name in _TYPES and (name != "bfloat16" or self._bf16) else np.dtype(_WIDER[name])

    def _type(self, dtype):
        return getattr(self._nccl, _TYPES[dtype.name])

    def _buffer(self, a, dtype):
        """``a`` as a C-contiguous array of ``dtype``: ``a`` itself when it is one."""
        return self._cupy.ascontiguousarray(a, dtype)

    def _store(self, a, buf):
        if buf is not a:
            self._cupy.copyto(a, buf.reshape(a.shape), casting="unsafe")

    def all_reduce(self, t, dtype, rop):
        """``t`` = ``rop`` over the ranks of their ``t`` (read as ``dtype``: bool as uint8)."""
        a = self.array(t, "all_reduce", "tensor")

        def run(stream):
            buf = self._buffer(a, self._reducible(dtype))
            if buf.size:
                self._comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, self._type(buf.dtype),
                                     getattr(self._nccl, _OPS[rop.name]), stream)
            self._store(a, buf)

        return self._launch(run, [t])

    def broadcast(self, t, src):
        a = self.array(t, "broadcast", "tensor")

        def run(stream):
            buf = self._buffer(a, a.dtype)
            if buf.nbytes:
                self._comm.broadcast(buf.data.ptr, buf.data.ptr, buf.nbytes, self._bytes, src, stream)
            self._store(a, buf)

        return self._launch(run, [] if self.rank == src else [t])

    def all_gather(self, outs, t):
        a = self.array(t, "all_gather", "tensor")
        targets = [self.array(o, "all_gather", f"tensor_list[{i}]") for i, o in enumerate(outs)]

        def run(stream):
            send = self._buffer(a, a.dtype)
            recv = self._cupy.empty((self.size,) + send.shape, send.dtype)
            if send.nbytes:
                self._comm.allGather(send.data.ptr, recv.data.ptr, send.nbytes, self._bytes, stream)
            for target, part in zip(targets, recv):
                self._store(target, part)

        return self._launch(run, outs)

    def reduce_scatter(self, out, ins, dtype, rop):
        """``out`` on rank r = ``rop`` over the ranks of their ``ins[r]`` (read as ``dtype``)."""
        a = self.array(out, "reduce_scatter", "output")
        sources = [self.array(x, "reduce_scatter", f"input_list[{i}]") for i, x in enumerate(ins)]

        def run(stream):
            wide = self._reducible(dtype)
            send = self._cupy.stack([self._buffer(s, wide) for s in sources])
            recv = a if a.flags.c_contiguous and a.dtype == wide else self._cupy.empty(a.shape, wide)
            if recv.size:
                self._comm.reduceScatter(send.data.ptr, recv.data.ptr, recv.size, self._type(wide),
                                         getattr(self._nccl, _OPS[rop.name]), stream)
            self._store(a, recv)

        return self._launch(run, [out])

    def gather(self, t, outs, dst):
        """Rank ``dst`` receives every rank's ``t`` into ``outs`` (None on the other ranks)."""
        a = self.array(t, "gather", "tensor")
        targets = [self.array(o, "gather", f"gather_list[{i}]") for i, o in enumerate(outs or ())]

        def run(stream):
            send = self._buffer(a, a.dtype)
            if self.rank != dst:
                if send.nbytes:
                    self._comm.send(send.data.ptr, send.nbytes, self._bytes, dst, stream)
                return
            recv = self._cupy.empty((self.size,) + send.shape, send.dtype)
            if send.nbytes:
                self._nccl.groupStart()  # one group: the receives from every rank run together
                for r in range(self.size):
                    if r != dst:
                        self._comm.recv(recv[r].data.ptr, send.nbytes, self._bytes, r, stream)
                self._nccl.groupEnd()
            recv[dst] = send
            for target, part in zip(targets, recv):
                self._store(target, part)

        return self._launch(run, outs or [])

    def scatter(self, t, ins, src):
        """Rank r's ``t`` = rank ``src``'s ``ins[r]`` (None on the other ranks)."""
        a = self.array(t, "scatter", "tensor")
        sources = [self.array(x, "scatter", f"scatter_list[{i}]") for i, x in enumerate(ins or ())]

        def run(stream):
            recv = a if a.flags.c_contiguous else self._cupy.empty(a.shape, a.dtype)
            if self.rank != src:
                if recv.nbytes:
                    self._comm.recv(recv.data.ptr, recv.nbytes, self._bytes, src, stream)
            else:
                sends = [self._buffer(s, a.dtype) for s in sources]
                if recv.nbytes:
                    self._nccl.groupStart()
                    for r in range(self.size):
                        if r != src:
                            self._comm.send(sends[r].data.ptr, recv.nbytes, self._bytes, r, stream)
                    self._nccl.groupEnd()
                self._store(recv, sends[src])
            self._store(a, recv)

        return self._launch(run, [t])
