"""The process group and the collectives, on MPI (mpi4py) or NCCL (``nccl.py``).

The collectives check their arguments here, then run on the group's backend. On MPI every
collective is started non-blocking (``Iallreduce``, ``Ibcast``, ...) and finished by
``Work.wait``, which polls the requests until the group's timeout: a blocking call is the
same call followed by ``wait()``. Data movement (broadcast, gathers, scatter) sends the
tensors' bytes, so every dtype works whatever MPI knows of it; reductions run in a dtype
MPI reduces natively (float16 and bfloat16 in float32, bool as logical or/and). On NCCL a
collective is queued on the current CUDA stream and returns at once, blocking or not: work
queued after it on that stream follows it, and ``Work.wait()`` makes the current stream
wait for it. ``barrier`` is MPI's on both: it meets the ranks' hosts."""

import datetime
import enum
import importlib.util
import numbers
import os
import sys
import threading
import time
import traceback

import numpy as np

from ..backend import cuda_device_count, get_default_device
from ..backend import nccl as _nccl
from ..dtypes import is_floating, is_half
from ..errors import ArgumentError, ArgumentTypeError, BackendUnavailableError, DTypeError, GpugradError, ShapeError
from ..tensor import Tensor


class DistributedError(GpugradError, RuntimeError):
    """A process group problem: used before ``init_process_group``, a collective that did
    not finish within the timeout."""


class ReduceOp(enum.Enum):
    SUM = "sum"
    AVG = "avg"
    MAX = "max"
    MIN = "min"
    PRODUCT = "product"


_DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)  # PyTorch's default for its CPU backends
# Seconds Work.wait polls without pause. MPI moves a non-blocking collective only inside MPI
# calls, so a rank that sleeps between polls holds up every other rank of the collective:
# with a 1 ms spin, a 2-rank all-reduce of 8 bytes took 1.1 ms instead of 0.02 ms (the
# ranks' sleeps cascade). A blocking MPI call spins the same way.
_SPIN = 0.1
INSTALL_HINT = ("pip install 'gpugrad[mpi]' (mpi4py and MPICH from PyPI), or mpi4py built against your cluster's MPI "
            "(pip install --no-binary mpi4py mpi4py)")
_group = {}  # comm (MPI), backend, timeout (seconds), local_rank, excepthook, nccl (a Communicator, under NCCL)


def _mpi():
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError, OSError) as exc:  # no mpi4py, or no MPI library for it to load
        raise BackendUnavailableError(f"[gpugrad.distributed] the 'mpi' backend needs mpi4py and an MPI library, "
                                      f"and {exc}: {INSTALL_HINT}") from exc
    return MPI


def is_mpi_available():
    """Whether mpi4py can be imported (without importing it: that starts MPI)."""
    return importlib.util.find_spec("mpi4py") is not None


def is_nccl_available():
    """Whether CuPy's NCCL binding loads (without starting CUDA: a GPU is not promised)."""
    return _nccl.is_nccl_available()


def is_available():
    """Whether process groups can start: MPI launches and connects them on either backend."""
    return is_mpi_available()


def is_initialized():
    return bool(_group)


def _seconds(timeout, op):
    if timeout is None:
        return _DEFAULT_TIMEOUT.total_seconds()
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not timeout > 0:
        raise ArgumentError(f"[{op}] expected timeout to be a positive timedelta or number of seconds, got {timeout!r}")
    return float(timeout)


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name=""):
    """Join the processes started by the MPI launcher into the default group.
    ``backend``: 'mpi' (tensors on any device; CUDA ones staged through host memory) or
    'nccl' (CUDA tensors, GPU to GPU; each rank on GPU ``local_rank % device_count``, made
    CuPy's current device); by default 'nccl' when the default device is a GPU and NCCL
    loads, else 'mpi'. ``world_size``/``rank``, when given, must be what the launcher made.
    An exception that ends this rank's program from now on aborts the job."""
    op = "init_process_group"
    if _group:
        raise DistributedError(f"[{op}] the default process group is already initialized; call "
                               f"destroy_process_group() first")
    if backend is None:  # PyTorch's rule: the backend follows the device
        backend = "nccl" if get_default_device().type == "cuda" and _nccl.unavailable_reason() is None else "mpi"
    if not isinstance(backend, str):
        raise ArgumentTypeError(f"[{op}] expected backend to be a str, got {backend!r}")
    backend = backend.lower()
    if backend == "gloo":
        raise ArgumentError(f"[{op}] backend 'gloo' is not one of gpugrad's: pass backend='mpi' (tensors on any "
                            f"device, CUDA ones staged through host memory) or 'nccl' (CUDA tensors), and start the "
                            f"processes with mpiexec or srun")
    if backend not in ("mpi", "nccl"):
        raise ArgumentError(f"[{op}] expected backend 'mpi' or 'nccl', got {backend!r}")
    if init_method not in (None, "env://") or store is not None:
        raise ArgumentError(f"[{op}] the MPI launcher connects the processes: expected init_method=None and "
                            f"store=None, got init_method={init_method!r}, store={store!r}")
    seconds = _seconds(timeout, op)
    reason = _nccl.unavailable_reason() if backend == "nccl" else None
    if reason is not None:
        raise BackendUnavailableError(f"[{op}] backend 'nccl' expected CUDA and NCCL through CuPy, got: {reason}; "
                                      f"or use backend='mpi' (CUDA tensors staged through host memory)")
    MPI = _mpi()
    world = MPI.COMM_WORLD
    for name, given, actual in (("world_size", world_size, world.Get_size()), ("rank", rank, world.Get_rank())):
        if given not in (-1, None) and given != actual:
            raise ArgumentError(f"[{op}] expected {name} {given!r} to be the launcher's, got {actual} from MPI "
                                f"(start the job with mpiexec -n <world_size>)")
    comm = world.Dup()
    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    local_rank, local_size = node.Get_rank(), node.Get_size()
    node.Free()
    state = dict(comm=comm, backend=backend, timeout=seconds, local_rank=local_rank, excepthook=sys.excepthook)
    if backend == "nccl":
        try:
            state["nccl"] = _connect_nccl(comm, local_rank, local_size, op)
        except DistributedError:
            comm.Free()
            raise
    _group.update(state)
    sys.excepthook = _abort_on_uncaught


def _connect_nccl(comm, local_rank, local_size, op):
    """This rank's NCCL communicator, or DistributedError on every rank alike (a rank that
    went on would wait in NCCL for the others forever)."""
    gpus = cuda_device_count()
    if comm.allreduce(int(local_size > gpus), op=_mpi().MAX):
        raise DistributedError(f"[{op}] backend 'nccl' expected at most one rank per GPU, got more ranks than GPUs on "
                               f"a host (this one: {local_size} rank(s), {gpus} GPU(s)); start at most as many ranks "
                               f"per host as it has GPUs, or use backend='mpi'")
    try:
        return _nccl.Communicator(comm, local_rank)
    except RuntimeError as exc:  # CuPy's NcclError, CUDA errors: NCCL fails on every rank alike
        raise DistributedError(f"[{op}] rank {comm.Get_rank()}: NCCL could not connect the ranks: {exc}") from exc


def _abort_on_uncaught(kind, value, tb):
    """sys.excepthook under a process group: say which rank failed and why, then end every
    rank of the job (MPI_Abort), which would otherwise wait for this one forever."""
    comm = _group.get("comm")
    rank = comm.Get_rank() if comm is not None else "?"
    text = "".join(traceback.format_exception(kind, value, tb))
    sys.stderr.write(f"[gpugrad.distributed] rank {rank} failed; aborting the job.\n{text}")
    sys.stderr.flush()
    if comm is not None:
        time.sleep(0.5)  # the launcher forwards the message before the abort ends its relay
        _mpi().COMM_WORLD.Abort(1)


def destroy_process_group(group=None):
    """End the default group; under NCCL, free its communicator once the GPU has run what
    was queued on it."""
    state = dict(_state("destroy_process_group", group))
    if sys.excepthook is _abort_on_uncaught:
        sys.excepthook = state["excepthook"]
    _group.clear()
    if "nccl" in state:
        state["nccl"].destroy()
    state["comm"].Free()


def _state(op, group=None):
    """The default group's state, for ``op`` given ``group`` (only the default exists)."""
    if group is not None:
        raise ArgumentError(f"[{op}] only the default group (group=None) exists, got {group!r}")
    if not _group:
        raise DistributedError(f"[{op}] the default process group has not been initialized: call "
                               f"gpugrad.distributed.init_process_group() first")
    return _group


def get_backend(group=None):
    return _state("get_backend", group)["backend"]


def get_rank(group=None):
    return _state("get_rank", group)["comm"].Get_rank()


def get_world_size(group=None):
    return _state("get_world_size", group)["comm"].Get_size()


def get_local_rank():
    """This process's rank among the group's processes on its host."""
    return _state("get_local_rank")["local_rank"]


class Work:
    """A started collective: ``wait()`` finishes it (and raises DistributedError when it
    does not finish within the timeout), ``is_completed()`` asks without waiting.

    ``ready()`` says whether it has finished; ``stream_wait``, under NCCL, makes the current
    CUDA stream wait for it: then ``wait()`` does that and returns without the host waiting,
    unless given a timeout, which the host waits for as on MPI."""

    def __init__(self, op, ready, finish=None, stream_wait=None):
        self._op, self._ready, self._finish, self._stream_wait, self._done = op, ready, finish, stream_wait, False
        self._timeout, self._rank = _group["timeout"], _group["comm"].Get_rank()
        self._lock, self._arrived = threading.Lock(), False

    def _test(self):
        """Whether the collective has arrived (MPI: tested under the lock, as the progress
        thread tests it too); what it leaves to do (``_finish``) is done by ``wait``."""
        if not self._arrived:
            with self._lock:
                if not self._arrived and self._ready():
                    self._arrived = True
        return self._arrived

    def is_completed(self):
        if not self._done and self._test():
            self._complete()
        return self._done

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()

    def wait(self, timeout=None):
        if self._done:
            return True
        if timeout is None and self._stream_wait is not None:
            self._stream_wait()
            return True
        limit = self._timeout if timeout is None else _seconds(timeout, f"{self._op}.wait")
        start = time.monotonic()
        pause = 0.0
        while not self._test():
            waited = time.monotonic() - start
            if waited > limit:
                raise DistributedError(f"[{self._op}] rank {self._rank}: the collective did not "
                                       f"finish within the timeout of {limit:g} s: a rank has not joined it (it "
                                       f"failed, or waits in another collective)")
            if waited > _SPIN:  # then yield the core between polls
                pause = min(1e-3, max(1e-5, pause * 2))
                time.sleep(pause)
        self._complete()
        return True


def _begin(op, group, t, name):
    """The group's communicator and the checked tensor argument ``name`` of collective ``op``."""
    return _state(op, group)["comm"], _tensor(t, name, op)


def _tensor(t, name, op):
    if not isinstance(t, Tensor):
        raise ArgumentTypeError(f"[{op}] expected {name} to be a gpugrad.Tensor, got {type(t).__name__}")
    return t


def _host(t):
    """``t``'s data as a C-contiguous NumPy array: the tensor's own memory when it is a
    contiguous CPU tensor, else a copy (CUDA tensors are staged through the host)."""
    if t.device.type == "cpu":
        return np.ascontiguousarray(t.array)
    return np.ascontiguousarray(t._backend.to_host(t.array))


def _store(t, host):
    """Write ``host`` (same shape, any dtype) into ``t`` unless it is ``t``'s memory."""
    if host is not t.array:
        if t.device.type == "cpu":
            np.copyto(t.array, host.reshape(t.shape), casting="unsafe")
        else:
            with t._backend.scope():
                t._backend.xp.copyto(t.array, t._backend.from_host(host.reshape(t.shape).astype(t.array.dtype)))
    t._vc[0] += 1


def _bytes(a):
    return a.reshape(-1).view(np.uint8)


def _reduction(dtype, op_name, rop):
    """(the dtype to reduce ``dtype`` in, the ReduceOp to run) for ``rop``, on either backend:
    bool reduces as uint8, with MAX for logical or (SUM, MAX) and MIN for logical and (MIN,
    PRODUCT); AVG needs floats."""
    if not isinstance(rop, ReduceOp):
        raise ArgumentTypeError(f"[{op_name}] expected op to be a gpugrad.distributed.ReduceOp, got {rop!r}")
    if dtype == np.bool_:
        if rop is ReduceOp.AVG:
            raise DTypeError(f"[{op_name}] ReduceOp.AVG needs a float tensor, got bool")
        return np.dtype(np.uint8), ReduceOp.MAX if rop in (ReduceOp.SUM, ReduceOp.MAX) else ReduceOp.MIN
    if rop is ReduceOp.AVG and not is_floating(dtype):
        raise DTypeError(f"[{op_name}] ReduceOp.AVG needs a float tensor, got {dtype}; reduce with SUM and divide")
    return dtype, rop


def _mpi_reduction(dtype, op_name, rop):
    """(the dtype MPI reduces in, the MPI op) for ``rop`` on ``dtype``: 2-byte floats in float32."""
    MPI = _mpi()
    dtype, rop = _reduction(dtype, op_name, rop)
    wide = np.dtype(np.float32) if is_half(dtype) else dtype
    return wide, {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.MAX: MPI.MAX, ReduceOp.MIN: MPI.MIN,
                  ReduceOp.PRODUCT: MPI.PROD}[rop]


def _finish(op, requests, finish, async_op):
    MPI = _mpi()
    work = Work(op, lambda: MPI.Request.Testall(requests), finish)
    if async_op:
        _progress.watch(work)
        return work
    work.wait()
    return None


class _Progress:
    """A thread that keeps MPI's non-blocking collectives moving while the program computes.

    MPI moves a started ``Iallreduce`` only inside MPI calls, so without help an async
    collective (DistributedDataParallel's buckets) waits for the next call the program
    makes, and backward's long matrix products (which release the GIL) leave it idle. While
    async collectives are in flight this thread tests them every ~50 us; it sleeps when none
    are. It runs where MPI allows calls from several threads (mpi4py asks for
    MPI_THREAD_MULTIPLE); ``GPUGRAD_MPI_PROGRESS=0`` turns it off."""

    def __init__(self):
        self._cv = threading.Condition()
        self._pending = []
        self._thread = None
        self._off = None  # decided at the first watch: the setting, and MPI's thread level

    def watch(self, work):
        with self._cv:
            if self._off is None:
                MPI = _mpi()
                self._off = (os.environ.get("GPUGRAD_MPI_PROGRESS", "1") == "0"
                             or MPI.Query_thread() != MPI.THREAD_MULTIPLE)
                if not self._off:
                    self._thread = threading.Thread(target=self._run, name="gpugrad-mpi-progress", daemon=True)
                    self._thread.start()
            if self._off:
                return
            self._pending.append(work)
            self._cv.notify()

    def _run(self):
        while True:
            with self._cv:
                while not self._pending:
                    self._cv.wait()
                pending = list(self._pending)
            done = [w for w in pending if _arrived_or_broken(w)]
            if done:
                with self._cv:
                    self._pending = [w for w in self._pending if w not in done]
            time.sleep(5e-5)


def _arrived_or_broken(work):
    try:
        return work._test()
    except Exception:  # its group was destroyed under it: the program's own wait() reports
        return True


_progress = _Progress()


def _queued(op, event, async_op):
    """The Work of a collective queued on the current CUDA stream (None unless ``async_op``:
    what is queued after it on that stream follows it)."""
    if not async_op:
        return None
    return Work(op, lambda: event.done, stream_wait=lambda: _group["nccl"].stream_wait(event))


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over all ranks, in place on each (``ReduceOp.AVG``: the mean)."""
    name = "all_reduce"
    comm, t = _begin(name, group, tensor, "tensor")
    if "nccl" in _group:
        return _queued(name, _group["nccl"].all_reduce(t, *_reduction(np.dtype(t.array.dtype), name, op)), async_op)
    host = _host(t)
    wide, mpi_op = _mpi_reduction(host.dtype, name, op)
    buf = host if host.dtype == wide else host.astype(wide)
    request = comm.Iallreduce(_mpi().IN_PLACE, buf, op=mpi_op)

    def finish():
        if op is ReduceOp.AVG:
            np.divide(buf, comm.Get_size(), out=buf)
        _store(t, buf)

    return _finish(name, [request], finish, async_op)


def broadcast(tensor, src=0, group=None, async_op=False):
    """Make ``tensor`` on every rank rank ``src``'s."""
    name = "broadcast"
    comm, t = _begin(name, group, tensor, "tensor")
    _rank_arg(src, "src", comm, name)
    if "nccl" in _group:
        return _queued(name, _group["nccl"].broadcast(t, src), async_op)
    host = _host(t)
    request = comm.Ibcast(_bytes(host), root=src)
    finish = None if comm.Get_rank() == src else (lambda: _store(t, host))
    return _finish(name, [request], finish, async_op)


def _rank_arg(value, name, comm, op):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < comm.Get_size():
        raise ArgumentError(f"[{op}] expected {name} to be a rank in [0, {comm.Get_size() - 1}], got {value!r}")


def _like_list(tensors, t, name, comm, op):
    """Check ``tensors``: one per rank, each of ``t``'s shape and dtype."""
    if not isinstance(tensors, (list, tuple)):
        raise ArgumentTypeError(f"[{op}] expected {name} to be a list of tensors, got {type(tensors).__name__}")
    if len(tensors) != comm.Get_size():
        raise ArgumentError(f"[{op}] expected {name} to hold one tensor per rank ({comm.Get_size()}), "
                            f"got {len(tensors)}")
    for i, x in enumerate(tensors):
        _tensor(x, f"{name}[{i}]", op)
        if x.shape != t.shape or x.dtype != t.dtype:
            raise ShapeError(f"[{op}] expected {name}[{i}] to have shape {tuple(t.shape)} and dtype {t.dtype} as "
                             f"the tensor, got {tuple(x.shape)} and {x.dtype}")
    return list(tensors)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """``tensor_list[r]`` becomes rank r's ``tensor``, on every rank."""
    name = "all_gather"
    comm, t = _begin(name, group, tensor, "tensor")
    outs = _like_list(tensor_list, t, "tensor_list", comm, name)
    if "nccl" in _group:
        return _queued(name, _group["nccl"].all_gather(outs, t), async_op)
    send = _host(t)
    recv = np.empty((comm.Get_size(),) + send.shape, send.dtype)
    request = comm.Iallgather(_bytes(send), _bytes(recv))

    def finish():
        for out, part in zip(outs, recv):
            _store(out, part)

    return _finish(name, [request], finish, async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """``output`` on rank r becomes the reduction over ranks of their ``input_list[r]``."""
    name = "reduce_scatter"
    comm, out = _begin(name, group, output, "output")
    ins = _like_list(input_list, out, "input_list", comm, name)
    if "nccl" in _group:
        return _queued(name, _group["nccl"].reduce_scatter(out, ins, *_reduction(np.dtype(out.array.dtype), name, op)),
                       async_op)
    wide, mpi_op = _mpi_reduction(np.dtype(out.array.dtype), name, op)
    send = np.stack([_host(x) for x in ins]).astype(wide, copy=False) if ins else np.empty(0, wide)
    recv = np.empty(tuple(out.shape), wide)
    request = comm.Ireduce_scatter_block(send, recv, op=mpi_op)

    def finish():
        if op is ReduceOp.AVG:
            np.divide(recv, comm.Get_size(), out=recv)
        _store(out, recv)

    return _finish(name, [request], finish, async_op)


def _root_list(tensors, t, name, root_name, root, comm, op):
    """The checked list ``tensors`` on rank ``root`` (``dst`` or ``src``); None, which the
    other ranks must pass."""
    if comm.Get_rank() == root:
        return _like_list(tensors, t, name, comm, op)
    if tensors is not None:
        raise ArgumentError(f"[{op}] {name} is for rank {root} ({root_name}) only: expected None on rank "
                            f"{comm.Get_rank()}")
    return None


def gather(tensor, gather_list=None, dst=0, group=None, async_op=False):
    """On rank ``dst``, ``gather_list[r]`` becomes rank r's ``tensor``; other ranks pass
    no list."""
    name = "gather"
    comm, t = _begin(name, group, tensor, "tensor")
    _rank_arg(dst, "dst", comm, name)
    outs = _root_list(gather_list, t, "gather_list", "dst", dst, comm, name)
    if "nccl" in _group:
        return _queued(name, _group["nccl"].gather(t, outs, dst), async_op)
    send = _host(t)
    if outs is None:
        return _finish(name, [comm.Igather(_bytes(send), None, root=dst)], None, async_op)
    recv = np.empty((comm.Get_size(),) + send.shape, send.dtype)
    request = comm.Igather(_bytes(send), _bytes(recv), root=dst)

    def finish():
        for out, part in zip(outs, recv):
            _store(out, part)

    return _finish(name, [request], finish, async_op)


def scatter(tensor, scatter_list=None, src=0, group=None, async_op=False):
    """Rank r's ``tensor`` becomes rank ``src``'s ``scatter_list[r]``; other ranks pass no
    list."""
    name = "scatter"
    comm, t = _begin(name, group, tensor, "tensor")
    _rank_arg(src, "src", comm, name)
    ins = _root_list(scatter_list, t, "scatter_list", "src", src, comm, name)
    if "nccl" in _group:
        return _queued(name, _group["nccl"].scatter(t, ins, src), async_op)
    recv = np.empty(tuple(t.shape), np.dtype(t.array.dtype))
    if ins is None:
        request = comm.Iscatter(None, _bytes(recv), root=src)
    else:
        send = np.stack([_host(x) for x in ins]) if ins else np.empty(0, recv.dtype)
        request = comm.Iscatter(_bytes(send), _bytes(recv), root=src)
    return _finish(name, [request], lambda: _store(t, recv), async_op)


def barrier(group=None, async_op=False):
    """Wait until every rank has reached its barrier (MPI's, on either backend: it meets the
    hosts, not the GPUs' queues)."""
    return _finish("barrier", [_state("barrier", group)["comm"].Ibarrier()], None, async_op)
