"""IterableDataset and ChainDataset (issue 17): a DataLoader over a stream, in the main
process and in workers (each worker iterates its own copy; batches come from the workers in
turn, as PyTorch's), its length, its refusals, and failures inside ``__iter__``.

The datasets are defined at module level: workers may get them by pickle."""

import numpy as np
import pytest
from helpers import unpicklable

import gpugrad as gg
from gpugrad.data import (
    ChainDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    TensorDataset,
    get_worker_info,
)
from gpugrad.errors import ArgumentError, ArgumentTypeError

# PyTorch's own loader (the oracle) warns of more workers than this machine's cores
pytestmark = pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")


class Stream(IterableDataset):
    """Yields start, start+1, ..., stop-1; with ``shard``, each worker only its own
    contiguous part (the split PyTorch's documentation shows); ``fail_at`` raises there."""

    worker_info = staticmethod(get_worker_info)  # PyTorch's in its copy of the class

    def __init__(self, start, stop, shard=False, fail_at=None):
        self.start, self.stop, self.shard, self.fail_at = start, stop, shard, fail_at

    def __iter__(self):
        lo, hi = self.start, self.stop
        info = self.worker_info()
        if self.shard and info is not None:
            per = -(-(hi - lo) // info.num_workers)
            lo = lo + info.id * per
            hi = min(hi, lo + per)
        for i in range(lo, hi):
            if i == self.fail_at:
                raise ValueError(f"sample {i} is broken")
            yield np.float32(i)


class Sized(Stream):
    def __len__(self):
        return self.stop - self.start


class Tagged(IterableDataset):
    """Each sample says which worker made it (-1: the main process)."""

    worker_info = staticmethod(get_worker_info)

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = self.worker_info()
        for i in range(self.n):
            yield [i, -1 if info is None else info.id]


def _lists(loader):
    return [b.tolist() if isinstance(b, gg.Tensor) else [t.tolist() for t in b] for b in loader]


def _torch_class(torch, cls):
    """PyTorch's IterableDataset with the methods of ours (``cls`` and its test bases)."""
    body = {}
    for c in reversed(cls.__mro__[:cls.__mro__.index(IterableDataset)]):
        body.update({k: v for k, v in vars(c).items() if not k.startswith("__") or k in ("__init__", "__iter__",
                                                                                          "__len__")})
    body["worker_info"] = staticmethod(torch.utils.data.get_worker_info)
    return type("T" + cls.__name__, (torch.utils.data.IterableDataset,), body)


def _torch_lists(torch, dataset_cls, args, **kwargs):
    """The same loader in PyTorch: its dataset class made from ours (same __iter__)."""
    tds = _torch_class(torch, dataset_cls)
    return [b.tolist() if isinstance(b, torch.Tensor) else [t.tolist() for t in b]
            for b in torch.utils.data.DataLoader(tds(*args), **kwargs)]


def test_single_process_batches(device):
    loader = DataLoader(Stream(0, 10), batch_size=3, device=device)
    got = list(loader)
    assert [b.tolist() for b in got] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert all(b.dtype == gg.float32 and b.device.type == device for b in got)
    assert _lists(DataLoader(Stream(0, 10), batch_size=3, drop_last=True)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    single = list(DataLoader(Stream(0, 3), batch_size=None, device=device))  # converted, not collated
    assert [b.tolist() for b in single] == [0, 1, 2] and all(b.shape == () for b in single)
    assert _lists(DataLoader(Stream(5, 5), batch_size=4)) == []
    assert _lists(DataLoader(Stream(0, 10), batch_size=3)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]  # again


def test_len_comes_from_the_dataset():
    assert len(DataLoader(Sized(0, 10), batch_size=3)) == 4
    assert len(DataLoader(Sized(0, 10), batch_size=3, drop_last=True)) == 3
    assert len(DataLoader(Sized(0, 10), batch_size=None)) == 10
    with pytest.raises(ArgumentTypeError, match=r"^\[DataLoader\] the length of a loader over an IterableDataset "
                                                r"comes from the dataset's __len__, and Stream has none"):
        len(DataLoader(Stream(0, 10), batch_size=3))
    torch = pytest.importorskip("torch")
    tds = _torch_class(torch, Sized)
    assert len(torch.utils.data.DataLoader(tds(0, 10), batch_size=3)) == 4
    assert len(torch.utils.data.DataLoader(tds(0, 10), batch_size=3, drop_last=True)) == 3


def test_refusals_as_torch():
    ds = Stream(0, 4)
    for kwargs in ({"shuffle": True}, {"sampler": [0, 1]}, {"batch_sampler": [[0, 1]]}):
        with pytest.raises(ArgumentError, match=r"^\[DataLoader\] an IterableDataset yields its samples in its own "
                                                r"order: expected shuffle=False or None, sampler=None and "
                                                r"batch_sampler=None"):
            DataLoader(ds, **kwargs)
    DataLoader(ds, shuffle=False)  # as PyTorch: False is not a request to shuffle
    torch = pytest.importorskip("torch")
    tds = _torch_class(torch, Stream)
    for kwargs in ({"shuffle": True}, {"sampler": [0, 1]}, {"batch_sampler": [[0, 1]]}):
        with pytest.raises(ValueError):
            torch.utils.data.DataLoader(tds(0, 4), **kwargs)


def test_chain_dataset_and_plus():
    chained = Sized(0, 3) + Sized(10, 12)
    assert isinstance(chained, ChainDataset) and len(chained) == 5
    assert [float(x) for x in chained] == [0, 1, 2, 10, 11]
    assert _lists(DataLoader(ChainDataset([Stream(0, 3), Stream(7, 9)]), batch_size=2)) == [[0, 1], [2, 7], [8]]
    with pytest.raises(ArgumentTypeError, match=r"^\[ChainDataset\] expected IterableDatasets, got a TensorDataset"):
        ChainDataset([Stream(0, 3), TensorDataset(gg.arange(3))])
    assert not issubclass(IterableDataset, TensorDataset) and issubclass(IterableDataset, Dataset)


@pytest.mark.parametrize("workers,stop,batch", [(2, 10, 3), (3, 17, 2), (2, 5, 4), (4, 3, 1)])
def test_workers_take_turns_as_in_torch(device, workers, stop, batch):
    """Sharded by get_worker_info: each sample once, in PyTorch's order (a batch from each
    worker in turn; a worker at the end of its part leaves the turn)."""
    got = _lists(DataLoader(Stream(0, stop, shard=True), batch_size=batch, num_workers=workers, device=device))
    assert sorted(x for b in got for x in b) == list(range(stop))
    per = -(-stop // workers)
    shards = [list(range(w * per, min(stop, (w + 1) * per))) for w in range(workers)]
    want, at = [], [0] * workers  # round robin over the workers' batches
    while any(at[w] < len(shards[w]) for w in range(workers)):
        for w in range(workers):
            if at[w] < len(shards[w]):
                want.append(shards[w][at[w]:at[w] + batch])
                at[w] += batch
    assert got == want
    torch = pytest.importorskip("torch")
    assert got == _torch_lists(torch, Stream, (0, stop, True), batch_size=batch, num_workers=workers)


def test_unsharded_workers_each_yield_the_whole_stream(device):
    """Without get_worker_info every worker yields every sample, as in PyTorch."""
    got = _lists(DataLoader(Tagged(5), batch_size=2, num_workers=2, device=device))
    # (samples [i, worker] collate to [the i's, the workers'])
    assert got == [[[0, 1], [0, 0]], [[0, 1], [1, 1]], [[2, 3], [0, 0]], [[2, 3], [1, 1]], [[4], [0]], [[4], [1]]]
    dropped = _lists(DataLoader(Tagged(5), batch_size=2, num_workers=2, drop_last=True))
    assert dropped == got[:4]
    torch = pytest.importorskip("torch")
    assert got == _torch_lists(torch, Tagged, (5,), batch_size=2, num_workers=2)
    assert dropped == _torch_lists(torch, Tagged, (5,), batch_size=2, num_workers=2, drop_last=True)


def test_persistent_workers_start_a_new_pass_each_time():
    loader = DataLoader(Stream(0, 7, shard=True), batch_size=2, num_workers=2, persistent_workers=True,
                        prefetch_factor=3)
    first = _lists(loader)
    assert first == [[0, 1], [4, 5], [2, 3], [6]]
    assert _lists(loader) == first
    it = iter(loader)
    assert next(it).tolist() == [0, 1]
    del it  # left early: the next pass starts from the beginning, nothing of this one mixed in
    assert _lists(loader) == first
    assert _lists(DataLoader(Stream(0, 7, shard=True), batch_size=None, num_workers=2)) == [0, 4, 1, 5, 2, 6, 3]


def test_a_failure_in_iter_is_raised_naming_the_worker():
    with pytest.raises(ValueError, match=r"^sample 3 is broken$"):
        list(DataLoader(Stream(0, 8, fail_at=3), batch_size=2))
    loader = DataLoader(Stream(0, 8, shard=True, fail_at=5), batch_size=2, num_workers=2)
    it = iter(loader)
    assert next(it).tolist() == [0, 1]  # worker 0's part: 0..3, worker 1's: 4..7
    with pytest.raises(ValueError, match=r"^\[DataLoader\] worker 1 failed iterating the dataset: ValueError: "
                                         r"sample 5 is broken") as info:
        next(it)
    assert "Traceback" in str(info.value)
    # in a later batch of the worker's pass too (its second: samples 6 and 7)
    with pytest.raises(ValueError, match=r"^\[DataLoader\] worker 1 failed iterating the dataset: ValueError: "
                                         r"sample 7 is broken"):
        list(DataLoader(Stream(0, 8, shard=True, fail_at=7), batch_size=2, num_workers=2))
    with pytest.raises(Exception, match=r"^\[DataLoader\] worker 0 failed sending a batch of the dataset "
                                        r"\(it must pickle\)"):
        list(DataLoader(Stream(0, 4), batch_size=2, num_workers=1, collate_fn=unpicklable))
