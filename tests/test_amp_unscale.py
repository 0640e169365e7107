"""GradScaler.unscale_'s fused pass (issue 19): the gradients of each (device, dtype) group
are multiplied by 1/scale and checked for inf/NaN in one kernel call (the CPU extension;
the CUDA kernel, under emulation where there is no GPU), with the same bits as the two
array passes it replaces, which still run without the kernels; inf, -inf or NaN anywhere,
or a finite gradient whose product overflows, skips the step; a step reads from the device
once however many parameters there are."""

import numpy as np
import pytest
from helpers import KernelSwitch, PointerOnly

import gpugrad as gg
from gpugrad.amp import GradScaler
from gpugrad.backend import cuda_kernels as ck
from gpugrad.backend import get_backend

SHAPES = [(3, 4), (5,), (0,), (2, 1, 3)]
SCALE = 3.0  # not a power of two: every product is rounded


def _inv(scale=SCALE):
    """The scaler's inv_scale: the reciprocal in float64 of the float32 scale, as float32."""
    return np.float32(1.0 / np.float64(np.float32(scale)))


def _unscaled(g, scale=SCALE):
    """g * inv_scale as the scaler computes it: in float32 for float32, float64 for float64."""
    return g * g.dtype.type(_inv(scale))


def _count_fused_calls(device, monkeypatch):
    """The number of gradient arrays of every call to the device's fused kernel, from now on."""
    kernels = get_backend(device).kernels
    if kernels is None:
        pytest.skip("the CPU extension is not built or is switched off (GPUGRAD_NATIVE=0); the 'array' cases run")
    calls, real = [], kernels.amp_unscale_

    def counted(gs, found_inf, inv_scale):
        calls.append(len(gs))
        return real(gs, found_inf, inv_scale)

    monkeypatch.setattr(kernels, "amp_unscale_", counted)
    return calls


@pytest.fixture(params=["fused", "array"])
def path(request, device, monkeypatch):
    """'fused': the kernels on, and the list of their calls; 'array': the kernels off
    (GPUGRAD_NATIVE=0 on the CPU, GPUGRAD_CUDA_KERNELS=0 on a GPU), and None."""
    if request.param == "fused":
        yield _count_fused_calls(device, monkeypatch)
        return
    switch = KernelSwitch(get_backend(device), None)
    yield None
    switch.restore()


def _setup(device, grads, scale=SCALE):
    """Zero parameters with ``grads`` (NumPy arrays) as their gradients, plain SGD (lr 0.5)
    over them, and a scaler whose scale is ``scale``."""
    ps = [gg.zeros(g.shape, dtype=g.dtype, device=device, requires_grad=True) for g in grads]
    for p, g in zip(ps, grads):
        p.grad = gg.tensor(g, device=device)
    scaler = GradScaler(device, init_scale=scale)
    scaler.scale(gg.tensor(1.0, device=device))
    return ps, gg.optim.SGD(ps, lr=0.5), scaler


def _grads(dtype, shapes=SHAPES, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(s) * 100).astype(dtype) for s in shapes]


def _bits(a):
    return np.ascontiguousarray(a).tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_fused_pass_is_taken_and_matches_the_array_path_bit_for_bit(device, monkeypatch, dtype):
    calls = _count_fused_calls(device, monkeypatch)
    grads = _grads(dtype)

    def run():
        ps, opt, scaler = _setup(device, grads)
        scaler.unscale_(opt)
        unscaled = [p.grad.numpy().copy() for p in ps]
        scaler.step(opt)
        return unscaled, [p.numpy() for p in ps]

    fused, fused_params = run()
    assert calls == [len(SHAPES)]  # one call for the group, the empty gradient among them
    switch = KernelSwitch(get_backend(device), None)
    try:
        array, array_params = run()
    finally:
        switch.restore()
    assert calls == [len(SHAPES)]  # the array path did not call the kernel
    for g, a, b, pa, pb in zip(grads, fused, array, fused_params, array_params):
        assert a.dtype == dtype and _bits(a) == _bits(b) == _bits(_unscaled(g))
        assert _bits(pa) == _bits(pb) == _bits(-0.5 * _unscaled(g))  # clean: the step was taken


def test_a_non_contiguous_gradient_is_unscaled_in_place_by_the_array_path(device, path):
    rng = np.random.default_rng(1)
    base = (rng.standard_normal((4, 3)) * 10).astype(np.float32)
    other = (rng.standard_normal(5) * 10).astype(np.float32)
    p = gg.zeros(3, 4, device=device, requires_grad=True)
    q = gg.zeros(5, device=device, requires_grad=True)
    view_of = gg.tensor(base, device=device)
    p.grad = view_of.T  # a strided view of another tensor
    q.grad = gg.tensor(other, device=device)
    assert not p.grad.array.flags.c_contiguous
    opt = gg.optim.SGD([p, q], lr=0.5)
    scaler = GradScaler(device, init_scale=SCALE)
    scaler.scale(gg.tensor(1.0, device=device))
    scaler.unscale_(opt)
    if path is not None:
        assert path == [1]  # the contiguous gradient alone went to the kernel
    assert _bits(p.grad.numpy()) == _bits(_unscaled(base).T)
    assert _bits(view_of.numpy()) == _bits(_unscaled(base))  # the view's own memory was changed
    assert _bits(q.grad.numpy()) == _bits(_unscaled(other))
    scaler.step(opt)
    assert _bits(p.numpy()) == _bits(-0.5 * _unscaled(base).T)


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_inf_or_nan_in_any_gradient_at_any_place_skips_the_step(device, path, value):
    shapes = [(7,), (2, 3), (7,)]
    for which in range(3):  # the first, middle and last of three gradients
        size = int(np.prod(shapes[which]))
        for at in (0, size // 2, size - 1):  # their first, middle and last element
            grads = _grads(np.float32, shapes, seed=which * 10 + at)
            grads[which].reshape(-1)[at] = value
            ps, opt, scaler = _setup(device, grads)
            calls_before = None if path is None else len(path)
            scaler.step(opt)
            scaler.update()
            where = f"{value} in gradient {which} at {at}"
            assert all(not p.numpy().any() for p in ps), f"{where}: the step was taken"
            assert scaler.get_scale() == SCALE * 0.5, where
            if path is not None:
                assert len(path) == calls_before + 1, where
            for p, g in zip(ps, grads):  # the rest unscaled all the same, the bad value kept
                with np.errstate(invalid="ignore"):
                    np.testing.assert_array_equal(p.grad.numpy(), _unscaled(g), err_msg=where)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # NumPy's overflow warning: none, as from the kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_finite_gradient_whose_product_overflows_skips_the_step(device, path, dtype):
    """A scale below 1 makes inv_scale above 1: the largest finite gradient times 4 is inf."""
    big = np.array([1.0, np.finfo(dtype).max / 2, -2.0], dtype)
    ps, opt, scaler = _setup(device, [np.ones(4, dtype), big], scale=0.25)
    scaler.unscale_(opt)
    assert _bits(ps[0].grad.numpy()) == _bits(np.full(4, 4.0, dtype))
    assert ps[1].grad.numpy()[1] == np.inf and ps[1].grad.numpy()[2] == -8.0
    scaler.step(opt)
    scaler.update()
    assert not ps[0].numpy().any() and not ps[1].numpy().any()
    assert scaler.get_scale() == 0.125
    if path is not None:
        assert path == [2]


def test_empty_gradients_alone_leave_the_flag_clear(device, path):
    ps, opt, scaler = _setup(device, [np.zeros(0, np.float32), np.zeros((0, 3), np.float32)])
    scaler.step(opt)
    scaler.update()
    assert scaler.get_scale() == SCALE and scaler.state_dict()["_growth_tracker"] == 1  # a clean step
    if path is not None:
        assert path == [2]


def test_groups_of_each_dtype_combine_their_flags(device, path):
    """float32 and float64 gradients are two groups (two calls); inf in either skips the step."""
    for bad_dtype in (np.float32, np.float64, None):
        grads = _grads(np.float32, [(4,), (3,)]) + _grads(np.float64, [(2, 2), (5,)], seed=1)
        if bad_dtype is not None:
            next(g for g in grads if g.dtype == bad_dtype)[1] = np.inf
        ps, opt, scaler = _setup(device, grads)
        calls_before = None if path is None else len(path)
        scaler.step(opt)
        assert all(p.numpy().any() for p in ps) == (bad_dtype is None), bad_dtype
        if path is not None:
            assert path[calls_before:] == [2, 2]


def _count_host_reads(device, monkeypatch):
    """A list that grows by one for every read of an array of the device's backend (of any
    device of its type) through the backend."""
    backend = get_backend(device)
    reads, real = [], type(backend).to_host

    def counted(self, array):
        reads.append(1)
        return real(self, array)

    monkeypatch.setattr(type(backend), "to_host", counted)
    return reads


@pytest.mark.parametrize("bad", [False, True])
def test_a_step_reads_from_the_device_once_however_many_parameters(device, path, monkeypatch, bad):
    count = ck.MAX_GRADS + 22  # two launches of the CUDA kernel
    grads = _grads(np.float32, [(2,)] * count, seed=2) + _grads(np.float64, [(3,)] * 5, seed=3)
    if bad:
        grads[count - 1][0] = np.nan
    ps, opt, scaler = _setup(device, grads)
    emulated = device == "cuda" and gg.backend.cuda.emulated()
    if emulated:
        from gpugrad.backend.emu import fakecupy
        before = fakecupy.host_reads()
    reads = _count_host_reads(device, monkeypatch)
    scaler.unscale_(opt)
    assert reads == []  # unscale_ reads nothing back
    scaler.step(opt)
    assert reads == [1]
    if emulated:  # nor does anything read the device around the backend
        assert fakecupy.host_reads() - before == 1
    if path is not None:
        assert path == [count, 5]
    scaler.update()
    assert (scaler.get_scale() == SCALE * 0.5) == bad


def test_gradients_on_two_devices_combine_their_flags_where_the_scale_is(device, monkeypatch):
    """CPU gradients beside the device's, the scale on the device: each group's flag moves to
    the scale's device (for the CPU's a copy to the GPU, not a read) and the step reads it
    there once. The CPU group costs a GPU one read more all the same: 1/scale, computed on
    the GPU, is copied to the CPU for it."""
    cpu_grads = _grads(np.float32, [(4,), (3,)], seed=4)
    dev_grads = _grads(np.float32, [(5,)], seed=5) + _grads(np.float64, [(2,)], seed=6)
    emulated = device == "cuda" and gg.backend.cuda.emulated()
    for bad in (None, 0, 1):  # clean, inf in a CPU gradient, inf in one of the device's
        if bad is not None:
            (cpu_grads if bad == 0 else dev_grads)[1][0] = np.inf
        params = []
        for dev, grads in (("cpu", cpu_grads), (device, dev_grads)):
            for g in grads:
                params.append(gg.zeros(g.shape, dtype=g.dtype, device=dev, requires_grad=True))
                params[-1].grad = gg.tensor(g, device=dev)
        opt = gg.optim.SGD(params, lr=0.5)
        scaler = GradScaler(device, init_scale=SCALE)
        scaler.scale(gg.tensor(1.0, device=device))
        if emulated:
            from gpugrad.backend.emu import fakecupy
            before = fakecupy.host_reads()
        reads = _count_host_reads(device, monkeypatch)  # the CPU's own "reads" (from_host's inputs) aside
        scaler.step(opt)
        assert reads == [1] * (1 if device == "cpu" else 2), bad
        if emulated:
            assert fakecupy.host_reads() - before == 2, bad
        assert all(p.numpy().any() for p in params) == (bad is None), bad
        monkeypatch.undo()


def test_float16_and_row_sparse_gradients_are_refused_before_any_is_changed(device):
    g = np.array([1.0, 2.0], np.float32)
    ps, opt, scaler = _setup(device, [g])
    h = gg.zeros(2, dtype=gg.float16, device=device, requires_grad=True)
    h.grad = gg.ones(2, dtype=gg.float16, device=device)
    opt.add_param_group({"params": [h]})
    with pytest.raises(gg.errors.ArgumentError, match="attempting to unscale float16 gradients"):
        scaler.unscale_(opt)
    assert _bits(ps[0].grad.numpy()) == _bits(g)  # the float32 group before it was left alone
    emb = gg.nn.Embedding(6, 2, sparse=True).to(device)
    emb(gg.tensor([1, 4], device=device)).sum().backward()
    sparse_opt = gg.optim.SparseAdam(list(emb.parameters()))
    with pytest.raises(gg.errors.ArgumentTypeError, match=r"row-sparse gradients \(Embedding\(sparse=True\)\)"):
        scaler.unscale_(sparse_opt)


def test_the_gradient_table_matches_the_kernel_struct():
    from pathlib import Path

    lay = ck.GRAD_LIST
    assert lay.itemsize == 2064 and [lay.fields[k][1] for k in ("ptr", "offset", "count", "unused")] == \
        [0, 1024, 2056, 2060]
    src = (Path(ck.source_dir()) / "optim.cu").read_text()
    assert f"kMaxGrads = {ck.MAX_GRADS};" in src and "sizeof(GradList) == 2064" in src

    gs = [PointerOnly(1000 + i, i % 3) for i in range(ck.MAX_GRADS + 2)]
    chunks = list(ck.tensor_lists([gs], ck.GRAD_LIST))
    assert [int(rec["count"][0]) for rec, _ in chunks] == [ck.MAX_GRADS, 2]
    rec, total = chunks[1]
    assert total == sum(i % 3 for i in range(ck.MAX_GRADS, ck.MAX_GRADS + 2))
    assert list(rec["ptr"][0, 0, :2]) == [1000 + ck.MAX_GRADS, 1001 + ck.MAX_GRADS] and not rec["ptr"][0, 0, 2:].any()
    assert rec["offset"][0, 2] == total and bytes(rec.tobytes())[:8] == np.uint64(1000 + ck.MAX_GRADS).tobytes()
