"""DistributedDataParallel (issue 18) on 2 ranks under the MPI launcher, on every available
device: 20 SGD and Adam steps on half batches end with the parameters one process gets on
the whole batch, for bucket sizes that put the parameters in one bucket, several, or one
each, with and without no_sync() accumulation; buckets start during backward; unused
parameters (found, or reported by name); sparse embedding gradients; buffers broadcast.
The checks are in tests/ddp_worker.py; the refusals that need no second rank are here."""

import pathlib
import re

import pytest
from helpers import needs_mpi, run_ranks

import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad.nn.parallel import DistributedDataParallel as DDP

WORKER = pathlib.Path(__file__).with_name("ddp_worker.py")


@needs_mpi
@pytest.mark.parametrize("check", ["equivalence", "overlap", "raised", "unused", "sparse", "buffers"])
def test_ddp_on_two_ranks(check, device):
    proc = run_ranks([WORKER, check, device], limit=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = sorted(re.findall(r"ok \w+ rank \d of \d", proc.stdout))
    assert lines == [f"ok {check} rank {r} of 2" for r in range(2)], proc.stdout


def test_ddp_needs_a_process_group():
    assert not dist.is_initialized()
    with pytest.raises(dist.DistributedError, match=r"^\[DistributedDataParallel\] the default process group has "
                                                    r"not been initialized"):
        DDP(gg.nn.Linear(2, 2))


@needs_mpi
def test_ddp_refusals_in_one_process(device):
    proc = run_ranks(["-c", _REFUSALS, device], ranks=0, limit=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "refusals ok" in proc.stdout


_REFUSALS = """
import sys
import pytest
import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad.errors import ArgumentError, ArgumentTypeError, DeviceError
from gpugrad.nn.parallel import DistributedDataParallel as DDP

device = sys.argv[1]
dist.init_process_group("mpi")
net = gg.nn.Linear(3, 2).to(device)
with pytest.raises(ArgumentTypeError, match=r"expected module to be a gpugrad.nn.Module, got Tensor"):
    DDP(gg.zeros(2))
for cap in (0, -1, True, "25"):
    with pytest.raises(ArgumentError, match="expected bucket_cap_mb to be a positive number"):
        DDP(net, bucket_cap_mb=cap)
with pytest.raises(ArgumentError, match="expected device_ids to be None or a list of the one device"):
    DDP(net, device_ids=[0, 1])
other = "cpu" if device != "cpu" else "cuda:0"
with pytest.raises(DeviceError, match=r"expected the module on device_ids\\[0\\]"):
    DDP(net, device_ids=[other])
model = DDP(net)  # one rank: the average is the rank's own gradient
x = gg.randn(4, 3, device=device)
model(x).sum().backward()
want = x.sum(0).reshape(1, 3).expand(2, 3)
assert bool(((net.weight.grad - want).abs() < 1e-5).all())
assert list(model.state_dict()) == ["module.weight", "module.bias"]
print("refusals ok")
"""
