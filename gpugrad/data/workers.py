"""Worker processes for ``DataLoader(num_workers=N)``.

Each worker is a process with two pipes of its own: tasks in (``(generation, task, indices)``),
results out (the pickled batch, or a ``_Failure``). The main process hands tasks out round
robin, at most ``prefetch_factor`` per worker, and yields the batches in the sampler's
order whatever order they finish in. Waiting on the result pipes together with the
processes' sentinels means a worker that dies is noticed at once, not after a timeout.

Start method (``multiprocessing_context=None``): ``fork`` on Linux, as PyTorch's default
there: it starts in milliseconds and needs no pickling of the dataset, so the Dataset
class, lambda ``collate_fn`` or local ``worker_init_fn`` of a script without an
``if __name__ == "__main__":`` guard, or of a notebook cell, work as they do with PyTorch.
Other Python threads do not change that (a tqdm monitor, a queue's feeder thread: PyTorch
forks with them too; Python 3.12+ warns about it). Nor does a CUDA device this process
uses: the worker only reads the dataset and collates on the CPU (its default device is
the CPU), and a forked child cannot use the CUDA driver its parent started, so there
asking for a CUDA device is a DeviceError that names the way out (and a CuPy error
from a CUDA array the dataset holds says the same), where PyTorch fails in the driver.
Where there is no fork the default is ``forkserver``, else ``spawn``. A program that set
``spawn`` or ``forkserver`` with ``multiprocessing.set_start_method`` gets the method it
set. Those start a fresh interpreter, so the dataset, ``collate_fn`` and
``worker_init_fn`` must pickle (defined at module level of an importable module).

Seeds, as PyTorch's: worker ``i`` seeds gpugrad's default CPU generator and ``random`` with
``base_seed + i`` and NumPy's global generator with a seed derived from both; the base
seed is new for each pass (see ``DataLoader``) and ``worker_init_fn(i)`` runs after the
seeding. ``get_worker_info()`` tells dataset code which worker it runs in. In a worker the
default device is the CPU, as PyTorch's."""

import itertools
import multiprocessing as mp
import os
import pickle
import random
import signal
import time
import traceback
import weakref
from multiprocessing.connection import wait

import numpy as np

from ..errors import ArgumentError, ArgumentTypeError, GpugradError
from ..tensor import Tensor
from .collate import default_collate
from .dataset import TensorDataset

_worker_info = None
_POLL = 1.0  # seconds between a worker's checks that its parent is alive


class DataLoaderWorkerError(GpugradError, RuntimeError):
    """A DataLoader worker failed in a way that its own exception cannot carry (it died,
    timed out, or raised an exception that does not pickle)."""


class WorkerInfo:
    """What ``get_worker_info()`` returns in a worker: ``id``, ``num_workers``, ``seed`` and
    this worker's copy of the ``dataset``."""

    __slots__ = ("id", "num_workers", "seed", "dataset")

    def __init__(self, id, num_workers, seed, dataset):  # noqa: A002 - PyTorch's field name
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed})"


def get_worker_info():
    """In a DataLoader worker, its WorkerInfo; in the main process, None."""
    return _worker_info


class _Failure:
    """An exception raised in a worker, carried to the main process and raised there as
    the same type (as PyTorch does) with the worker, the dataset index and its traceback."""

    def __init__(self, exc, worker_id, where, fatal=False):
        self.fatal = fatal  # the worker stops after sending it (its worker_init_fn failed)
        self.name = type(exc).__name__
        self.exc_type = type(exc)
        try:
            pickle.dumps(self.exc_type)
        except Exception:  # a local exception class: the main process cannot rebuild it
            self.exc_type = None
        self.text = (f"[DataLoader] worker {worker_id} failed {where}: {self.name}: {exc}\n\n"
                     f"The worker's traceback:\n{''.join(traceback.format_exception(exc))}")

    def reraise(self):
        err = None
        if self.exc_type is not None:
            try:
                err = self.exc_type(self.text)
            except Exception:  # an exception type that needs other arguments
                err = None
        if err is None:
            err = DataLoaderWorkerError(self.text)
        raise err


def fetch(dataset, indices, auto_collation, collate_fn, failure_site=None):
    """The batch of ``indices`` (or the one sample ``indices`` without auto-collation).
    ``failure_site`` (a one-element list) is told which index was being read, for errors."""
    site = failure_site if failure_site is not None else [None]
    if not auto_collation:
        site[0] = f"on dataset index {indices!r}"
        return collate_fn(dataset[indices])
    if type(dataset) is TensorDataset and collate_fn is default_collate:  # a batch at a time
        site[0] = f"on dataset indices {indices!r}"
        return [_take(t, np.asarray(indices, dtype=np.int64)) for t in dataset.tensors]
    getitems = getattr(dataset, "__getitems__", None)
    if callable(getitems):
        site[0] = f"on dataset indices {indices!r}"
        data = getitems(indices)
    else:
        data = []
        for i in indices:
            site[0] = f"on dataset index {i!r}"
            data.append(dataset[i])
    site[0] = f"collating the samples at dataset indices {indices!r}"
    return collate_fn(data)


class _End:
    """What a worker sends for a batch past the end of its copy of an IterableDataset."""


def iter_batches(dataset, batch_size, drop_last, auto_collation, collate_fn, failure_site=None):
    """The batches of an IterableDataset, in its order: ``batch_size`` samples each (the
    last one shorter unless ``drop_last``), or single converted samples without
    auto-collation. ``failure_site`` (a one-element list) is told what was being done."""
    site = failure_site if failure_site is not None else [None]
    site[0] = "iterating the dataset"
    samples = iter(dataset)
    if not auto_collation:
        for sample in samples:
            site[0] = "converting a sample of the dataset"
            yield collate_fn(sample)
            site[0] = "iterating the dataset"
        return
    while True:
        site[0] = "iterating the dataset"
        batch = list(itertools.islice(samples, batch_size))
        if not batch or (drop_last and len(batch) < batch_size):
            return
        site[0] = f"collating a batch of {len(batch)} samples of the dataset"
        yield collate_fn(batch)


def _take(t, idx):
    from .. import tensor

    if isinstance(t, Tensor):
        return t[tensor(idx, device=t.device)]
    return tensor(np.asarray(t)[idx])


_FORKED_FROM_CUDA = ("this worker process was forked from a process that uses CUDA, and CUDA cannot be used in "
                     "it (as in PyTorch): keep the dataset's tensors on the CPU and move the batches in the main "
                     "process (DataLoader(device=...) does it), or pass multiprocessing_context='spawn'")


def _seed_worker(base_seed, worker_id, forked_from_cuda=False):
    from .. import backend
    from .. import random as gg_random
    from ..backend import cuda, set_default_device

    # new tensors of dataset code go to the CPU, as in PyTorch (gpugrad's default device may
    # be CUDA): batches travel through host memory, and a forked worker must not touch the
    # CUDA driver its parent started (asking for it is refused, naming why)
    set_default_device("cpu")
    if forked_from_cuda:
        backend._cuda_refused = f"[DataLoader] worker {worker_id}: {_FORKED_FROM_CUDA}"
        backend._backends = {dev: b for dev, b in backend._backends.items() if b.device == "cpu"}
    seed = base_seed + worker_id
    random.seed(seed)
    gg_random.default_generator.manual_seed(seed)
    cuda.set_default_seed(seed)  # for a CUDA device the worker might start (never one of the parent's)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))
    return seed


def _worker_loop(worker_id, num_workers, dataset, tasks, results, auto_collation, collate_fn, base_seed,
                 init_fn, parent, forked_from_cuda=False, stream=None):
    """The body of a worker process: seed, run ``init_fn``, then fetch batches until told
    to stop (a None task), until the main process goes away, or until a failure.
    ``stream``: ``(batch_size, drop_last)`` for an IterableDataset, whose tasks carry no
    indices: each is the next batch of this worker's own pass over its copy (a new pass
    for each generation), or ``_End()``."""
    global _worker_info
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C: the main process shuts us down
    seed = _seed_worker(base_seed, worker_id, forked_from_cuda)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    failure = None
    if init_fn is not None:
        try:
            init_fn(worker_id)
        except Exception as exc:
            failure = _Failure(exc, worker_id, "in worker_init_fn", fatal=True)
    # the process that started this one: the main process under fork and spawn, the
    # forkserver under forkserver (which exits with the main process); a change means it died
    # and this worker was re-parented
    parent = os.getppid()
    stream_pass = stream_batches = stream_site = None  # an IterableDataset's pass, its batches, their site
    try:
        while True:
            if not tasks.poll(_POLL):
                if os.getppid() != parent:
                    return  # the main process died without telling us
                continue
            task = tasks.recv()
            if task is None:
                return
            generation, index, indices = task
            if failure is None:
                site = [None]
                if stream is not None and stream_pass != generation:  # a new pass over this worker's copy
                    stream_pass, stream_site = generation, [None]  # the batches tell it where they fail
                    stream_batches = iter_batches(dataset, *stream, auto_collation, collate_fn, stream_site)
                try:
                    if stream is None:
                        batch = fetch(dataset, indices, auto_collation, collate_fn, site)
                        site[0] = f"sending the batch of dataset indices {indices!r} (it must pickle)"
                    else:
                        site = stream_site
                        batch = next(stream_batches, _End())
                        site[0] = "sending a batch of the dataset (it must pickle)"
                    out = pickle.dumps((generation, index, batch), protocol=pickle.HIGHEST_PROTOCOL)
                except Exception as exc:
                    if forked_from_cuda and type(exc).__module__.split(".")[0] == "cupy":
                        site[0] += f" ({_FORKED_FROM_CUDA})"  # a CUDA array the dataset held
                    out = pickle.dumps((generation, index, _Failure(exc, worker_id, site[0])))
            else:
                out = pickle.dumps((generation, index, failure))
            results.send_bytes(out)
            if failure is not None:
                return
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        return  # the main process closed its ends: it is shutting down


def default_context():
    """The start method DataLoader workers use when none is given (see the module's docstring)."""
    chosen = mp.get_start_method(allow_none=True)
    if chosen not in (None, "fork"):  # the program chose a safe one for all its processes (fork may be implicit)
        return mp.get_context(chosen)
    methods = mp.get_all_start_methods()
    if "fork" in methods and os.name == "posix":
        return mp.get_context("fork")
    return mp.get_context("forkserver" if "forkserver" in methods else "spawn")


def context(spec):
    """``multiprocessing_context=``: None (the default above), a start method's name, or a context."""
    if spec is None:
        return default_context()
    if isinstance(spec, str):
        if spec not in mp.get_all_start_methods():
            raise ArgumentError(f"[DataLoader] expected multiprocessing_context to be one of "
                                f"{mp.get_all_start_methods()}, got {spec!r}")
        return mp.get_context(spec)
    if isinstance(spec, mp.context.BaseContext):
        return spec
    raise ArgumentTypeError(f"[DataLoader] expected multiprocessing_context to be a start method's name or a "
                            f"multiprocessing context, got {type(spec).__name__}")


def _stop(procs, tasks, results, grace=5.0):
    """Ask every worker to stop, drain what they still send (a worker blocked writing a
    batch could not read the request), terminate those still alive after ``grace`` seconds,
    close the pipes."""
    for conn in tasks:
        try:
            conn.send(None)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + grace
    for p, res in zip(procs, results):
        while p.is_alive() and time.monotonic() < deadline:
            for ready in wait([res, p.sentinel], timeout=max(deadline - time.monotonic(), 0)):
                if ready is res:
                    try:
                        res.recv_bytes()
                    except (EOFError, OSError):
                        p.join(timeout=max(deadline - time.monotonic(), 0))
        if p.is_alive():
            p.terminate()
            p.join(timeout=grace)
        if p.is_alive():
            p.kill()
            p.join()
    for conn in tasks + results:
        conn.close()


class WorkerPool:
    """``num_workers`` processes serving one DataLoader: ``put`` hands out a task, ``get``
    returns the next result; ``shutdown`` (also run when the pool is collected and at
    interpreter exit) stops them."""

    def __init__(self, ctx, num_workers, dataset, auto_collation, collate_fn, base_seed, init_fn, timeout,
                 stream=None):
        self.timeout = timeout
        self.procs, self._tasks, self._results, self._finished = [], [], [], set()
        self.fatal = None  # the failure of a worker that stopped (its worker_init_fn failed)
        self._finalizer = weakref.finalize(self, _stop, self.procs, self._tasks, self._results)
        from .. import backend

        forked_from_cuda = ctx.get_start_method() == "fork" and any(
            b.device != "cpu" for b in list(backend._backends.values()))
        for wid in range(num_workers):
            task_r, task_w = ctx.Pipe(duplex=False)
            res_r, res_w = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_worker_loop, daemon=True, name=f"gpugrad DataLoader worker {wid}",
                            args=(wid, num_workers, dataset, task_r, res_w, auto_collation, collate_fn, base_seed,
                                  init_fn, os.getpid(), forked_from_cuda, stream))
            try:
                p.start()
            except (pickle.PicklingError, AttributeError, TypeError) as exc:
                task_r.close(), task_w.close(), res_r.close(), res_w.close()
                self.shutdown()
                raise ArgumentTypeError(
                    f"[DataLoader] expected a picklable dataset, collate_fn and worker_init_fn for the "
                    f"{ctx.get_start_method()!r} start method of the workers, got ({type(exc).__name__}: {exc}); "
                    "define them at module level, or pass multiprocessing_context='fork'") from None
            task_r.close()
            res_w.close()
            self.procs.append(p)
            self._tasks.append(task_w)
            self._results.append(res_r)

    def put(self, worker, task):
        self._tasks[worker].send(task)

    def get(self):
        """The next ``(generation, task, data)`` from any worker; raises if a worker died or
        nothing came within ``timeout`` seconds (when it is > 0). A worker whose
        worker_init_fn failed stops after saying so, as it should: it is not waited on."""
        while True:
            live = [i for i in range(len(self.procs)) if i not in self._finished]
            ready = wait([self._results[i] for i in live] + [self.procs[i].sentinel for i in live],
                         timeout=self.timeout or None)
            if not ready:
                raise DataLoaderWorkerError(f"[DataLoader] expected a batch from the workers within timeout="
                                            f"{self.timeout} seconds, got none")
            for i in live:
                conn, p = self._results[i], self.procs[i]
                if conn not in ready and p.sentinel not in ready:
                    continue
                if conn.poll():
                    try:
                        item = pickle.loads(conn.recv_bytes())
                    except EOFError:
                        item = None
                    if item is not None:
                        if isinstance(item[2], _Failure) and item[2].fatal:
                            self._finished.add(i)
                            self.fatal = item[2]
                        return item
                p.join(timeout=5.0)
                raise DataLoaderWorkerError(f"[DataLoader] worker {i} (pid {p.pid}) exited unexpectedly with exit "
                                            f"code {p.exitcode}")

    @property
    def alive(self):
        return self._finalizer.alive

    def shutdown(self, grace=5.0):
        """Stop the workers, giving them ``grace`` seconds to finish their current task."""
        if self._finalizer.detach() is not None:
            _stop(self.procs, self._tasks, self._results, grace)
