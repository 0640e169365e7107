"""DistributedSampler (issue 18's data part): each rank's share of the indices, held to
PyTorch's sampler given num_replicas and rank explicitly (without shuffling the orders are
equal; with it, the permutation comes from gpugrad's generator, so the structure is
checked: one permutation per seed and epoch, shared by the ranks, split disjointly)."""

import pytest

import gpugrad as gg
from gpugrad.data import DataLoader, DistributedSampler, TensorDataset
from gpugrad.errors import ArgumentError, ArgumentTypeError

CASES = [(10, 3, False), (10, 3, True), (9, 3, False), (9, 3, True), (2, 4, False), (2, 4, True), (0, 2, False),
         (7, 1, False), (1, 2, True)]


@pytest.mark.parametrize("n,replicas,drop_last", CASES)
def test_unshuffled_shares_are_pytorchs(n, replicas, drop_last):
    shares = [list(DistributedSampler(range(n), replicas, r, shuffle=False, drop_last=drop_last))
              for r in range(replicas)]
    assert len({len(s) for s in shares}) <= 1
    assert all(len(DistributedSampler(range(n), replicas, r, shuffle=False, drop_last=drop_last)) == len(s)
               for r, s in enumerate(shares))
    if n:
        covered = {i for s in shares for i in s}
        assert covered == set(range(n)) if not drop_last else covered <= set(range(n))
    torch = pytest.importorskip("torch")
    want = [list(torch.utils.data.DistributedSampler(range(n), replicas, r, shuffle=False, drop_last=drop_last))
            for r in range(replicas)]
    assert shares == want


@pytest.mark.parametrize("n,replicas,drop_last", CASES)
def test_shuffled_shares_split_one_permutation_per_epoch(n, replicas, drop_last):
    samplers = [DistributedSampler(list(range(n)), num_replicas=replicas, rank=r, seed=5, drop_last=drop_last)
                for r in range(replicas)]
    epochs = []
    for epoch in range(3):
        for s in samplers:
            s.set_epoch(epoch)
        shares = [list(s) for s in samplers]
        assert shares == [list(s) for s in samplers]  # the same epoch, the same order
        if not drop_last and n >= replicas:  # without padding overlap the shares are disjoint
            assert len({i for s in shares for i in s}) == n
        if drop_last:
            flat = [i for s in shares for i in s]
            assert len(flat) == len(set(flat)) == samplers[0].total_size
        epochs.append(shares)
    if n > 2:
        assert epochs[0] != epochs[1]  # set_epoch reshuffles
    again = DistributedSampler(list(range(n)), num_replicas=replicas, rank=0, seed=5, drop_last=drop_last)
    assert list(again) == epochs[0][0]  # epoch 0 from the seed alone
    torch = pytest.importorskip("torch")
    t = torch.utils.data.DistributedSampler(range(n), replicas, 0, seed=5, drop_last=drop_last)
    assert len(t) == len(samplers[0]) and t.total_size == samplers[0].total_size


def test_a_loader_over_a_distributed_sampler(device):
    ds = TensorDataset(gg.arange(10))
    batches = [[b[0].tolist() for b in DataLoader(ds, batch_size=2, device=device,
                                                  sampler=DistributedSampler(ds, 2, r, shuffle=False))]
               for r in range(2)]
    assert batches == [[[0, 2], [4, 6], [8]], [[1, 3], [5, 7], [9]]]


def test_refusals():
    with pytest.raises(ArgumentError, match=r"^\[DistributedSampler\] expected num_replicas and rank .* or a "
                                            r"process group"):
        DistributedSampler(range(4))
    with pytest.raises(ArgumentError, match=r"^\[DistributedSampler\] expected rank to be an integer in \[0, 1\], "
                                            r"got 2"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ArgumentError, match=r"expected num_replicas to be a positive integer, got 0"):
        DistributedSampler(range(4), num_replicas=0, rank=0)
    with pytest.raises(ArgumentTypeError, match=r"expected shuffle to be a bool"):
        DistributedSampler(range(4), 2, 0, shuffle="yes")
    with pytest.raises(ArgumentTypeError, match=r"^\[DistributedSampler.set_epoch\] expected an integer"):
        DistributedSampler(range(4), 2, 0).set_epoch(1.5)
