"""The process group and the collectives on MPI (mpi4py).

Every collective is started non-blocking (``Iallreduce``, ``Ibcast``, ...) and finished by
``Work.wait``, which polls the requests until the group's timeout: a blocking call is the
same call followed by ``wait()``. Data movement (broadcast, gathers, scatter) sends the
tensors' bytes, so every dtype works whatever MPI knows of it; reductions run in a dtype
MPI reduces natively (float16 and bfloat16 in float32, bool as logical or/and)."""

import datetime
import enum
import importlib.util
import numbers
import sys
import time
import traceback

import numpy as np

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
_INSTALL = ("pip install 'gpugrad[mpi]' (mpi4py and MPICH from PyPI), or mpi4py built against your cluster's MPI "
            "(pip install --no-binary mpi4py mpi4py)")
_group = {}  # comm, backend, timeout (seconds), local_rank, excepthook


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise BackendUnavailableError(f"[gpugrad.distributed] the 'mpi' backend needs mpi4py and an MPI library, "
                                      f"and {exc}: {_INSTALL}") from exc
    return MPI


def is_mpi_available():
    """Whether mpi4py can be imported (without importing it: that starts MPI)."""
    return importlib.util.find_spec("mpi4py") is not None


def is_available():
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
    ``backend``: 'mpi' (the default). ``world_size``/``rank``, when given, must be what the
    launcher made. An exception that ends this rank's program from now on aborts the job."""
    op = "init_process_group"
    if _group:
        raise DistributedError(f"[{op}] the default process group is already initialized; call "
                               f"destroy_process_group() first")
    if backend is None:
        backend = "mpi"
    if not isinstance(backend, str):
        raise ArgumentTypeError(f"[{op}] expected backend to be a str, got {backend!r}")
    backend = backend.lower()
    if backend in ("gloo", "nccl"):
        raise ArgumentError(f"[{op}] backend {backend!r} is not one of gpugrad's: gpugrad uses MPI for processes "
                            f"(on CPUs, and CUDA tensors staged through host memory): pass backend='mpi' and start "
                            f"the processes with mpiexec or srun")
    if backend != "mpi":
        raise ArgumentError(f"[{op}] expected backend 'mpi', got {backend!r}")
    if init_method not in (None, "env://") or store is not None:
        raise ArgumentError(f"[{op}] the MPI launcher connects the processes: expected init_method=None and "
                            f"store=None, got init_method={init_method!r}, store={store!r}")
    seconds = _seconds(timeout, op)
    MPI = _mpi()
    world = MPI.COMM_WORLD
    for name, given, actual in (("world_size", world_size, world.Get_size()), ("rank", rank, world.Get_rank())):
        if given not in (-1, None) and given != actual:
            raise ArgumentError(f"[{op}] expected {name} {given!r} to be the launcher's, got {actual} from MPI "
                                f"(start the job with mpiexec -n <world_size>)")
    comm = world.Dup()
    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    local_rank = node.Get_rank()
    node.Free()
    _group.update(comm=comm, backend="mpi", timeout=seconds, local_rank=local_rank, excepthook=sys.excepthook)
    sys.excepthook = _abort_on_uncaught


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
    comm = _state("destroy_process_group", group)["comm"]
    if sys.excepthook is _abort_on_uncaught:
        sys.excepthook = _group["excepthook"]
    _group.clear()
    comm.Free()


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
    does not finish within the timeout), ``is_completed()`` asks without waiting."""

    def __init__(self, op, requests, finish=None):
        self._op, self._requests, self._finish, self._done = op, requests, finish, False
        self._timeout, self._rank = _group["timeout"], _group["comm"].Get_rank()

    def is_completed(self):
        if not self._done and _mpi().Request.Testall(self._requests):
            self._complete()
        return self._done

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()

    def wait(self, timeout=None):
        if self._done:
            return True
        MPI = _mpi()
        limit = self._timeout if timeout is None else _seconds(timeout, f"{self._op}.wait")
        start = time.monotonic()
        pause = 0.0
        while not MPI.Request.Testall(self._requests):
            waited = time.monotonic() - start
            if waited > limit:
                raise DistributedError(f"[{self._op}] rank {self._rank}: the collective did not "
                                       f"finish within the timeout of {limit:g} s: a rank has not joined it (it "
                                       f"failed, or waits in another collective)")
            if waited > 1e-3:  # spin for the first millisecond, then yield the core
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
    """(the dtype MPI reduces in, the MPI op) for ``rop`` on ``dtype``."""
    MPI = _mpi()
    if not isinstance(rop, ReduceOp):
        raise ArgumentTypeError(f"[{op_name}] expected op to be a gpugrad.distributed.ReduceOp, got {rop!r}")
    if dtype == np.bool_:
        if rop is ReduceOp.AVG:
            raise DTypeError(f"[{op_name}] ReduceOp.AVG needs a float tensor, got bool")
        return np.dtype(np.uint8), {ReduceOp.SUM: MPI.LOR, ReduceOp.MAX: MPI.LOR, ReduceOp.MIN: MPI.LAND,
                                    ReduceOp.PRODUCT: MPI.LAND}[rop]
    if rop is ReduceOp.AVG and dtype.kind not in "fc" and dtype.name != "bfloat16":
        raise DTypeError(f"[{op_name}] ReduceOp.AVG needs a float tensor, got {dtype}; reduce with SUM and divide")
    wide = np.dtype(np.float32) if dtype.itemsize == 2 and dtype.kind not in "iu" else dtype
    return wide, {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.MAX: MPI.MAX, ReduceOp.MIN: MPI.MIN,
                  ReduceOp.PRODUCT: MPI.PROD}[rop]


def _finish(op, requests, finish, async_op):
    work = Work(op, requests, finish)
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over all ranks, in place on each (``ReduceOp.AVG``: the mean)."""
    name = "all_reduce"
    comm, t = _begin(name, group, tensor, "tensor")
    host = _host(t)
    wide, mpi_op = _reduction(host.dtype, name, op)
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
    wide, mpi_op = _reduction(np.dtype(out.array.dtype), name, op)
    send = np.stack([_host(x) for x in ins]).astype(wide, copy=False) if ins else np.empty(0, wide)
    recv = np.empty(tuple(out.shape), wide)
    request = comm.Ireduce_scatter_block(send, recv, op=mpi_op)

    def finish():
        if op is ReduceOp.AVG:
            np.divide(recv, comm.Get_size(), out=recv)
        _store(out, recv)

    return _finish(name, [request], finish, async_op)


def gather(tensor, gather_list=None, dst=0, group=None, async_op=False):
    """On rank ``dst``, ``gather_list[r]`` becomes rank r's ``tensor``; other ranks pass
    no list."""
    name = "gather"
    comm, t = _begin(name, group, tensor, "tensor")
    _rank_arg(dst, "dst", comm, name)
    send = _host(t)
    if comm.Get_rank() == dst:
        outs = _like_list(gather_list, t, "gather_list", comm, name)
        recv = np.empty((comm.Get_size(),) + send.shape, send.dtype)
        request = comm.Igather(_bytes(send), _bytes(recv), root=dst)

        def finish():
            for out, part in zip(outs, recv):
                _store(out, part)

        return _finish(name, [request], finish, async_op)
    if gather_list is not None:
        raise ArgumentError(f"[{name}] gather_list is for rank {dst} (dst) only: expected None on rank "
                            f"{comm.Get_rank()}")
    return _finish(name, [comm.Igather(_bytes(send), None, root=dst)], None, async_op)


def scatter(tensor, scatter_list=None, src=0, group=None, async_op=False):
    """Rank r's ``tensor`` becomes rank ``src``'s ``scatter_list[r]``; other ranks pass no
    list."""
    name = "scatter"
    comm, t = _begin(name, group, tensor, "tensor")
    _rank_arg(src, "src", comm, name)
    recv = np.empty(tuple(t.shape), np.dtype(t.array.dtype))
    if comm.Get_rank() == src:
        ins = _like_list(scatter_list, t, "scatter_list", comm, name)
        send = np.stack([_host(x) for x in ins]) if ins else np.empty(0, recv.dtype)
        request = comm.Iscatter(_bytes(send), _bytes(recv), root=src)
    else:
        if scatter_list is not None:
            raise ArgumentError(f"[{name}] scatter_list is for rank {src} (src) only: expected None on rank "
                                f"{comm.Get_rank()}")
        request = comm.Iscatter(None, _bytes(recv), root=src)
    return _finish(name, [request], lambda: _store(t, recv), async_op)


def barrier(group=None, async_op=False):
    """Wait until every rank has reached its barrier."""
    return _finish("barrier", [_state("barrier", group)["comm"].Ibarrier()], None, async_op)
