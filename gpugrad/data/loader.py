"""DataLoader: batches of a dataset, in the main process or in worker processes."""

import collections
import hashlib
import json
import numbers
import warnings

from ..errors import ArgumentError, ArgumentTypeError, DeviceError
from ..random import Generator
from ..tensor import Tensor
from . import workers
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset, TensorDataset  # noqa: F401 - Dataset, TensorDataset: their old home
from .samplers import BatchSampler, RandomSampler, SequentialSampler


class DataLoader:
    """Batches of ``dataset``, as PyTorch's ``DataLoader`` (same arguments, defaults and
    refusals), plus gpugrad's ``seed=`` and ``device=``.

    Indices come from ``sampler`` (default: SequentialSampler, or RandomSampler when
    ``shuffle``), grouped by a ``BatchSampler(sampler, batch_size, drop_last)`` unless
    ``batch_sampler`` is given; ``batch_size=None`` yields single samples. A batch is
    ``collate_fn(list of samples)`` (default: ``default_collate``). A TensorDataset with the
    default collate is sliced a batch at a time (no per-sample Python work).

    Shuffling: each epoch's order is ``gpugrad.randperm(n, generator=generator)``, as
    PyTorch's ``DataLoader(shuffle=True, generator=g)``: ``generator`` is a CPU
    ``gpugrad.Generator``; without one it is the default generator, so
    ``gpugrad.manual_seed`` makes the order reproducible. ``seed`` (gpugrad's own) gives
    the loader a stream of its own instead. ``state_dict`` holds the state of that stream
    or generator (nothing when it draws from the default generator, whose state is
    ``gpugrad.get_rng_state()``).

    ``num_workers > 0``: batches are made in that many worker processes (see
    ``gpugrad.data.workers`` for the start method, ``multiprocessing_context=`` to choose
    one) and come back in order. Worker ``i`` is seeded with ``base_seed + i``; the base
    seed of a pass is derived from the generator's state and the pass's number without
    drawing from it, so the order of the samples is the same for any ``num_workers``.
    ``persistent_workers`` keeps the workers between passes, ``prefetch_factor`` (default
    2) batches are in flight per worker, ``timeout`` (> 0) bounds the wait for one batch.

    ``pin_memory``: on a machine with CUDA, CPU tensors of a batch are copied into
    page-locked memory (``gpugrad.data.pinned``); with ``device=`` a CUDA device, the
    copies to it are then asynchronous. Without CUDA it warns, as PyTorch does, and
    does nothing."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", seed=None, device=None):
        op = "[DataLoader]"
        _check_int(num_workers, "num_workers", 0)
        _check_int(prefetch_factor, "prefetch_factor", 0, none=True)
        if not isinstance(timeout, numbers.Real) or timeout < 0:
            raise ArgumentError(f"{op} expected timeout to be a non-negative number, got {timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ArgumentError(f"{op} expected prefetch_factor=None with num_workers=0 (it only applies to worker "
                                f"processes), got prefetch_factor={prefetch_factor}")
        if persistent_workers and num_workers == 0:
            raise ArgumentError(f"{op} expected num_workers > 0 with persistent_workers=True, got num_workers=0")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise ArgumentTypeError(f"{op} expected worker_init_fn to be callable, got {type(worker_init_fn).__name__}")
        if collate_fn is not None and not callable(collate_fn):
            raise ArgumentTypeError(f"{op} expected collate_fn to be callable, got {type(collate_fn).__name__}")
        if generator is not None:
            if not isinstance(generator, Generator):
                raise ArgumentTypeError(f"{op} expected generator to be a gpugrad.Generator, "
                                        f"got {type(generator).__name__}")
            if generator.device != "cpu":
                raise DeviceError(f"{op} expected a cpu generator (it orders the samples), "
                                  f"got one on {generator.device}")
            if seed is not None:
                raise ArgumentError(f"{op} expected seed or generator, got both: {seed} and {generator}")
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable and (shuffle or sampler is not None or batch_sampler is not None):
            raise ArgumentError(f"{op} an IterableDataset yields its samples in its own order: expected shuffle=False "
                                f"or None, sampler=None and batch_sampler=None, got shuffle={shuffle!r}, "
                                f"sampler={sampler!r}, batch_sampler={batch_sampler!r}")
        if sampler is not None and shuffle:
            raise ArgumentError(f"{op} sampler is mutually exclusive with shuffle: expected shuffle=False or None "
                                f"with a sampler, got shuffle={shuffle!r}")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ArgumentError(f"{op} batch_sampler is mutually exclusive with batch_size, shuffle, sampler and "
                                    f"drop_last: expected their defaults, got batch_size={batch_size}, "
                                    f"shuffle={shuffle!r}, sampler={sampler!r}, drop_last={drop_last!r}")
            batch_size, drop_last = None, False
        elif batch_size is None:
            if drop_last:
                raise ArgumentError(f"{op} batch_size=None (no batching) is mutually exclusive with drop_last: "
                                    "expected drop_last=False, got True")
        else:
            _check_int(batch_size, "batch_size", 1)
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.num_workers, self.timeout, self.worker_init_fn = num_workers, timeout, worker_init_fn
        self.prefetch_factor = 2 if num_workers and prefetch_factor is None else prefetch_factor
        self.persistent_workers, self.pin_memory, self.pin_memory_device = persistent_workers, pin_memory, pin_memory_device
        self.multiprocessing_context = multiprocessing_context
        if multiprocessing_context is not None:
            workers.context(multiprocessing_context)  # refused now, not at the first pass
        self.device = device
        self.generator = generator if seed is None else Generator("cpu").manual_seed(seed)
        self._own = generator is None and seed is None  # drawing from the default generator
        if self._iterable:  # no indices: the dataset's own order
            self._auto_collation = batch_size is not None
        else:
            if sampler is None:
                sampler = RandomSampler(dataset, generator=self.generator) if shuffle else SequentialSampler(dataset)
            if batch_size is not None and batch_sampler is None:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
            self._auto_collation = batch_sampler is not None
        self.shuffle = bool(shuffle)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if self._auto_collation else default_convert)
        self._passes = 0
        self._pool = None
        if pin_memory:
            from .. import cuda

            if not cuda.is_available():
                warnings.warn("[DataLoader] pin_memory=True but no CUDA device is available: there is nothing to "
                              "pin for, so it does nothing", stacklevel=2)
                self.pin_memory = False

    def __len__(self):
        if self._iterable:  # as PyTorch: from the dataset's length, when it has one
            if not callable(getattr(self.dataset, "__len__", None)):
                raise ArgumentTypeError(f"[DataLoader] the length of a loader over an IterableDataset comes from the "
                                        f"dataset's __len__, and {type(self.dataset).__name__} has none")
            n = len(self.dataset)
            return len(BatchSampler(range(n), self.batch_size, self.drop_last)) if self._auto_collation else n
        return len(self.batch_sampler if self._auto_collation else self.sampler)

    def state_dict(self):
        return {} if self._own else {"generator": self.generator.get_state()}

    def load_state_dict(self, state):
        if not isinstance(state, dict) or (self._own and state) or (not self._own and "generator" not in state):
            want = "{} (it draws from the default generator)" if self._own else "{'generator': ...}"
            raise ArgumentTypeError(f"[DataLoader.load_state_dict] expected {want}, got {state!r}")
        if not self._own:
            self.generator.set_state(state["generator"])

    def _index_iter(self):
        return iter(self.batch_sampler if self._auto_collation else self.sampler)

    def __iter__(self):
        self._passes += 1
        batches = self._single() if self.num_workers == 0 else self._multi()
        move = self._mover()
        for batch in batches:
            if self.pin_memory:
                from .pinned import pin

                batch = pin(batch, self.pin_memory_device or self.device)
            yield move(batch)

    def _single(self):
        if self._iterable:
            yield from workers.iter_batches(self.dataset, self.batch_size, self.drop_last, self._auto_collation,
                                            self.collate_fn)
            return
        for idx in self._index_iter():
            yield workers.fetch(self.dataset, idx, self._auto_collation, self.collate_fn)

    def _base_seed(self):
        """The workers' base seed for this pass: from the generator's state and the pass's
        number, without drawing (so the shuffle is that of num_workers=0)."""
        from ..random import default_generator

        state = json.dumps((self.generator or default_generator).get_state(), sort_keys=True, default=str)
        digest = hashlib.sha256(f"{state}/{self._passes}".encode()).digest()
        return int.from_bytes(digest[:8], "little") >> 2

    def _start_pool(self):
        ctx = workers.context(self.multiprocessing_context)
        return workers.WorkerPool(ctx, self.num_workers, self.dataset, self._auto_collation, self.collate_fn,
                                  self._base_seed(), self.worker_init_fn, self.timeout,
                                  stream=(self.batch_size, self.drop_last) if self._iterable else None)

    def _pass_pool(self):
        if not self.persistent_workers:
            return self._start_pool()  # this pass's own, as each iterator in PyTorch has its own
        if self._pool is None or not self._pool.alive:
            self._pool = self._start_pool()
        return self._pool

    def _multi(self):
        pool = self._pass_pool()
        try:
            if pool.fatal is not None:  # a persistent worker stopped in an earlier pass
                pool.fatal.reraise()
            yield from (self._stream_batches(pool) if self._iterable else self._indexed_batches(pool))
        except GeneratorExit:  # the pass was left early (break, or the iterator collected)
            if not self.persistent_workers:
                pool.shutdown()
            raise
        except BaseException:  # a worker's failure, a timeout, KeyboardInterrupt: workers go, soon
            pool.shutdown(grace=1.0)
            raise
        if not self.persistent_workers:
            pool.shutdown()

    @staticmethod
    def _result(pool, generation, want, ready, dropped=()):
        """The result of task ``want`` of pass ``generation``, keeping others that come first
        in ``ready``."""
        while want not in ready:
            gen, task, data = pool.get()
            if gen == generation and task not in dropped:  # earlier passes' batches of persistent workers go
                ready[task] = data
            elif isinstance(data, workers._Failure) and data.fatal:
                data.reraise()  # but not a worker that cannot work
        return ready.pop(want)

    def _indexed_batches(self, pool):
        """Batches of the sampler's indices, handed to the workers in turn, yielded in order."""
        generation, indices = self._passes, self._index_iter()
        sent = received = 0
        ready = {}
        for _ in range(self.prefetch_factor * self.num_workers):
            sent += self._send(pool, generation, sent, indices)
        while received < sent:
            data = self._result(pool, generation, received, ready)
            received += 1
            if isinstance(data, workers._Failure):
                data.reraise()
            sent += self._send(pool, generation, sent, indices)
            yield data

    def _stream_batches(self, pool):
        """The workers' batches of an IterableDataset: one from each worker in turn (as
        PyTorch), a worker that has come to the end of its copy leaving the turn."""
        generation, task = self._passes, 0
        queued = {w: collections.deque() for w in range(self.num_workers)}
        turn, ready, dropped = list(range(self.num_workers)), {}, set()

        def send(worker):
            nonlocal task
            pool.put(worker, (generation, task, None))
            queued[worker].append(task)
            task += 1

        for worker in turn:
            for _ in range(self.prefetch_factor):
                send(worker)
        at = 0
        while turn:
            worker = turn[at]
            data = self._result(pool, generation, queued[worker].popleft(), ready, dropped)
            if isinstance(data, workers._End):  # this worker is done; what it still owes is dropped
                dropped.update(queued.pop(worker))
                for t in dropped & ready.keys():
                    del ready[t]
                turn.remove(worker)
                at = at % len(turn) if turn else 0
                continue
            if isinstance(data, workers._Failure):
                data.reraise()
            send(worker)
            at = (at + 1) % len(turn)
            yield data

    def _send(self, pool, generation, task, indices):
        try:
            idx = next(indices)
        except StopIteration:
            return 0
        pool.put(task % self.num_workers, (generation, task, idx))
        return 1

    def _mover(self):
        if self.device is None:
            return lambda batch: batch
        from ..backend import Device

        if self.pin_memory and Device(self.device).type == "cuda":
            from .pinned import AsyncCopier

            return AsyncCopier(self.device)
        return lambda batch: _to_device(batch, self.device)

def _check_int(value, name, low, none=False):
    if none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ArgumentError(f"[DataLoader] expected {name} to be an integer >= {low}, got {value!r}")


def _to_device(batch, device):
    if isinstance(batch, Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return type(batch)({k: _to_device(v, device) for k, v in batch.items()})
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(_to_device(b, device) for b in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(b, device) for b in batch)
    return batch


__all__ = ["DataLoader", "Dataset", "TensorDataset"]
