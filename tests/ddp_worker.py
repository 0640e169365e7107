"""One rank of the DistributedDataParallel tests (tests/test_ddp.py starts it under
mpiexec): ``python tests/ddp_worker.py CHECK DEVICE``. Every rank also trains the same
model alone on the whole batch (the reference a single process would compute) and checks
that the data-parallel model, fed only its share of each batch, ends with the same
parameters. Prints ``ok CHECK rank R of N`` at the end."""

import sys

import numpy as np

import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad import nn
from gpugrad.nn.parallel import DistributedDataParallel as DDP

GLOBAL_BATCH = 24


def mlp(seed, device):
    gg.manual_seed(seed)
    return nn.Sequential(nn.Linear(10, 33), nn.Tanh(), nn.Linear(33, 17), nn.ReLU(), nn.Linear(17, 4)).to(device)


def batches(steps, device, salt=0):
    rng = np.random.default_rng(7 + salt)
    for _ in range(steps):
        x = rng.standard_normal((GLOBAL_BATCH, 10)).astype(np.float32)
        y = rng.integers(0, 4, GLOBAL_BATCH)
        yield gg.tensor(x, device=device), gg.tensor(y, device=device)


def share(t, rank, world):
    n = t.shape[0] // world
    return t[rank * n:(rank + 1) * n]


def optimizer(name, params):
    if name == "sgd":
        return gg.optim.SGD(params, lr=0.1, momentum=0.9)
    return gg.optim.Adam(params, lr=1e-2)


def close(a, b, what, rtol=2e-5, atol=2e-6):
    a, b = a.detach().cpu().numpy(), b.detach().cpu().numpy()
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)


def train_pair(device, opt_name, bucket_cap_mb, accumulate, as_view=False):
    """20 steps of the DDP model (on this rank's share) and the reference (whole batch);
    with ``accumulate`` each step is two micro-batches, the first under no_sync(); with
    ``as_view`` the gradients live in the buckets, and zero_grad zeroes them in place."""
    rank, world = dist.get_rank(), dist.get_world_size()
    ref = mlp(1, device)
    # rank 0's weights reach every rank
    model = DDP(mlp(1 + rank, device), bucket_cap_mb=bucket_cap_mb, gradient_as_bucket_view=as_view)
    for (name, p), q in zip(model.module.named_parameters(), ref.parameters()):
        close(p, q, f"{name} after the broadcast", rtol=0, atol=0)
    opt, ref_opt = optimizer(opt_name, model.parameters()), optimizer(opt_name, ref.parameters())
    micro = 2 if accumulate else 1
    data = list(batches(20 * micro, device, salt=micro))
    for step in range(20):
        opt.zero_grad(set_to_none=not as_view)
        ref_opt.zero_grad()
        for m in range(micro):
            x, y = data[step * micro + m]
            ctx = model.no_sync() if m < micro - 1 else _null()
            with ctx:
                nn.functional.cross_entropy(model(share(x, rank, world)), share(y, rank, world)).backward()
            nn.functional.cross_entropy(ref(x), y).backward()
        if as_view:
            for b in model._buckets:
                for p, view in zip(b.params, b.views):
                    assert p.grad is view, "with gradient_as_bucket_view the gradients are the buckets' views"
        opt.step()
        ref_opt.step()
    for (name, p), q in zip(model.module.named_parameters(), ref.parameters()):
        close(p, q, f"{name} after 20 {opt_name} steps (bucket_cap_mb={bucket_cap_mb}, accumulate={accumulate}, "
                    f"gradient_as_bucket_view={as_view})")
    return model


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def check_equivalence(device):
    for opt_name in ("sgd", "adam"):
        for cap, accumulate in ((25, False), (0.002, False), (1e-6, False), (25, True), (0.002, True)):
            model = train_pair(device, opt_name, cap, accumulate)
            n = len(list(model.parameters()))
            buckets = len(model._buckets)
            want = {25: 1, 0.002: None, 1e-6: n}[cap]  # 2 KB splits the six parameters several ways
            assert buckets == want if want else 1 < buckets < n, (cap, buckets)
        train_pair(device, opt_name, 0.002, False, as_view=True)
        train_pair(device, opt_name, 0.002, True, as_view=True)


def check_overlap(device):
    """The buckets of the last layers start before backward reaches the first layer."""
    rank, world = dist.get_rank(), dist.get_world_size()
    model = DDP(mlp(1, device), bucket_cap_mb=1e-6)
    x, y = next(batches(1, device))
    seen = []
    h = model.module[0](share(x, rank, world))
    h.register_hook(lambda g: seen.append(model._next))
    out = model.module[4](model.module[3](model.module[2](model.module[1](h))))
    # (the layers are called one by one to hook the first one's output; the DDP module's
    # hooks on the parameters do the work, whichever way the layers are called)
    nn.functional.cross_entropy(out, share(y, rank, world)).backward()
    assert seen and seen[0] >= 2, f"buckets started before the first layer's backward: {seen}"


def check_raised(device):
    """A backward that raises after some buckets started leaves the next step correct."""
    rank, world = dist.get_rank(), dist.get_world_size()
    ref = mlp(1, device)
    model = DDP(mlp(1, device), bucket_cap_mb=1e-6)
    x, y = next(batches(1, device))
    h = model.module[0](share(x, rank, world))

    def fail(g):
        raise ValueError("stop")

    h.register_hook(fail)
    out = model.module[4](model.module[3](model.module[2](model.module[1](h))))
    try:
        nn.functional.cross_entropy(out, share(y, rank, world)).backward()
    except ValueError:
        pass
    else:
        raise AssertionError("the hook did not raise")
    assert model._next >= 2, "buckets had started before the failure"
    for p in model.parameters():
        p.grad = None
    nn.functional.cross_entropy(model(share(x, rank, world)), share(y, rank, world)).backward()
    nn.functional.cross_entropy(ref(x), y).backward()
    for (name, p), q in zip(model.module.named_parameters(), ref.parameters()):
        close(p.grad, q.grad, f"{name}.grad in the step after a failed backward")


def check_unused(device):
    rank, world = dist.get_rank(), dist.get_world_size()

    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.unused = nn.Linear(10, 8), nn.Linear(8, 4), nn.Linear(10, 4)

        def forward(self, x):
            return self.b(self.a(x).relu())

    gg.manual_seed(3)
    ref = Branchy().to(device)
    gg.manual_seed(3)
    model = DDP(Branchy().to(device), find_unused_parameters=True, bucket_cap_mb=25)
    x, y = next(batches(1, device))
    nn.functional.cross_entropy(model(share(x, rank, world)), share(y, rank, world)).backward()
    nn.functional.cross_entropy(ref(x), y).backward()
    for (name, p), q in zip(model.module.named_parameters(), ref.parameters()):
        if name.startswith("unused"):
            assert p.grad is None, name
        else:
            close(p.grad, q.grad, f"{name}.grad with find_unused_parameters=True")
    strict = DDP(Branchy().to(device))
    try:
        nn.functional.cross_entropy(strict(share(x, rank, world)), share(y, rank, world)).backward()
    except dist.DistributedError as exc:
        assert "parameters that got no gradient in this backward: unused.weight, unused.bias" in str(exc), exc
        assert "find_unused_parameters=True" in str(exc)
    else:
        raise AssertionError("a parameter without gradient was not reported")


def check_sparse(device):
    rank, world = dist.get_rank(), dist.get_world_size()

    def build(seed):
        gg.manual_seed(seed)
        return nn.Sequential(nn.Embedding(50, 6, sparse=True), nn.Flatten(), nn.Linear(18, 3)).to(device)

    ref, model = build(5), DDP(build(5 + rank))
    rng = np.random.default_rng(11)
    opt, ref_opt = gg.optim.SparseAdam([model.module[0].weight], lr=0.05), gg.optim.SparseAdam(
        [ref[0].weight], lr=0.05)
    dense, ref_dense = gg.optim.SGD([model.module[2].weight, model.module[2].bias], lr=0.1), gg.optim.SGD(
        [ref[2].weight, ref[2].bias], lr=0.1)
    for _ in range(5):
        idx = gg.tensor(rng.integers(0, 50, (GLOBAL_BATCH, 3)), device=device)
        y = gg.tensor(rng.integers(0, 3, GLOBAL_BATCH), device=device)
        for o in (opt, ref_opt, dense, ref_dense):
            o.zero_grad()
        nn.functional.cross_entropy(model(share(idx, rank, world)), share(y, rank, world)).backward()
        nn.functional.cross_entropy(ref(idx), y).backward()
        close(model.module[0].weight.grad.to_dense(), ref[0].weight.grad.to_dense(), "sparse embedding gradient")
        for o in (opt, ref_opt, dense, ref_dense):
            o.step()
    for (name, p), q in zip(model.module.named_parameters(), ref.parameters()):
        close(p, q, f"{name} after 5 steps with a sparse embedding")


def check_buffers(device):
    rank = dist.get_rank()
    gg.manual_seed(rank)
    net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)).to(device)
    with gg.no_grad():
        net[1].running_mean.fill_(float(rank + 1))
    model = DDP(net)
    assert float(net[1].running_mean.sum()) == 3.0, "rank 0's buffers are broadcast at construction"
    seen = []
    net[1].register_forward_pre_hook(lambda mod, args: seen.append(mod.running_mean.clone()))
    model(gg.randn(8, 4, device=device) + rank)  # each rank's running stats move with its own data ...
    model(gg.randn(8, 4, device=device))  # ... and every forward starts from rank 0's
    first, second = seen
    assert not bool((net[1].running_mean == second).all()), "the forward updated the running stats"
    for mine in (first, second):
        gathered = [gg.zeros(3, device=device) for _ in range(dist.get_world_size())]
        dist.all_gather(gathered, mine)
        for g in gathered[1:]:
            close(g, gathered[0], "the running mean each rank's BatchNorm started from", rtol=0, atol=0)
    try:
        DDP(net, bucket_cap_mb=0)
    except gg.errors.ArgumentError as exc:
        assert "expected bucket_cap_mb to be a positive number, got 0" in str(exc)
    else:
        raise AssertionError("bucket_cap_mb=0 accepted")


def main():
    check, device = sys.argv[1], sys.argv[2]
    dist.init_process_group("mpi", timeout=60)
    globals()[f"check_{check}"](device)
    print(f"ok {check} rank {dist.get_rank()} of {dist.get_world_size()}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
