"""Every CUDA kernel, in every dtype, against the composed reference path, over the edge
cases: 1 row, rows that do not fill a warp or a block, 31/32/33 and 1023/1024/1025
classes (the warp and block kernels on both sides of their boundaries), ignore_index,
bad targets, label smoothing, class weights, NaN and ±inf rows, the all-ignored batch,
n = 0; GEMMs with partial tiles and K not a multiple of the tile; optimizers over 1 to 41
tensors (more than one launch) with empty ones among them.

On a machine without a GPU these run the real kernels under the CUDA emulation, through
the real CudaKernels launch code. The ``check_*`` functions raise AssertionError on a
mismatch; tests/test_cuda_mutants.py runs them against mutated kernels.
"""

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.backend import cuda_kernels as ck

TOL = {"float32": 2e-5, "float64": 1e-12, "float16": 2e-2}


def _compare(got, want, tol, what):
    for k, (a, b) in enumerate(zip(got, want)):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        assert a.shape == b.shape, f"{what} output {k}: shape {a.shape} vs {b.shape}"
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=f"{what} output {k}")


# -- cross-entropy ---------------------------------------------------------------------------
def ce_inputs(n, c, dtype, seed=0, special=False):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, c)) * 3).astype(dtype)
    t = rng.integers(0, c, n)
    if special and n >= 4:
        x[1, c // 2] = np.inf  # a row with +inf: its loss is NaN or inf in both paths
        x[2, :] = -np.inf
        x[2, t[2]] = 0.0  # all -inf but the target: loss 0
        x[3, 0] = np.nan
    return x, t


def check_cross_entropy(switch, n, c, dtype="float32", reduction="mean", seed=0, special=False, **kw):
    """Rows ('none') and the reduced loss with their gradients (upstream 3 for the reduced
    one) from the kernels and from the composed path agree."""
    x, t = ce_inputs(n, c, dtype, seed, special)
    if kw.get("ignore_index") == "some":
        kw["ignore_index"] = int(t[0]) if n else -100
    if kw.get("ignore_index") == "all":
        kw["ignore_index"] = -1
        t[:] = -1
    if kw.get("weight") is True:
        kw["weight"] = np.random.default_rng(seed + 1).uniform(0.5, 2.0, c).astype(dtype)

    def run():
        w = kw.get("weight")
        args = dict(kw, weight=None if w is None else gg.tensor(w, device="cuda"))
        xt = gg.tensor(x, device="cuda", requires_grad=True)
        tt = gg.tensor(t, device="cuda")
        rows = gg.functional.softmax_cross_entropy(xt, tt, **args)
        rows.backward(gg.tensor(np.linspace(0.5, 1.5, n).astype(dtype), device="cuda"))
        g_rows = xt.grad.numpy()
        xt.grad = None
        loss = gg.nn.functional.cross_entropy(xt, tt, reduction=reduction, **args)
        if loss.ndim:  # 'none': an upstream of 3 per row
            loss.backward(gg.full(loss.shape, 3.0, dtype=dtype, device="cuda"))
        else:
            (loss * 3.0).backward()
        return rows.numpy(), g_rows, loss.numpy(), xt.grad.numpy()

    with np.errstate(all="ignore"):
        _compare(run(), switch.composed(run), TOL[dtype], f"cross_entropy n={n} c={c} {dtype} {reduction} {kw}")


@pytest.mark.parametrize("c", [31, 32, 33, 1023, 1024, 1025])
def test_cross_entropy_around_the_warp_and_block_kernels(cuda_device, c):
    n = 37 if c <= ck.WARP_MAX_CLASSES else 7  # 5 blocks of 8 warps (the last part full); 7 blocks
    check_cross_entropy(cuda_device, n, c, reduction="mean")
    check_cross_entropy(cuda_device, n, c, reduction="sum", label_smoothing=0.1, ignore_index="some")
    check_cross_entropy(cuda_device, n, c, reduction="none", weight=True, label_smoothing=0.2)


@pytest.mark.parametrize("dtype", ["float64", "float16"])
@pytest.mark.parametrize("c", [33, 1025])
def test_cross_entropy_in_every_dtype(cuda_device, dtype, c):
    check_cross_entropy(cuda_device, 19 if c <= ck.WARP_MAX_CLASSES else 5, c, dtype, weight=True, ignore_index="some",
                        label_smoothing=0.1)


@pytest.mark.parametrize("n", [0, 1, 8, 9])
def test_cross_entropy_row_counts_that_do_not_fill_a_block(cuda_device, n):
    check_cross_entropy(cuda_device, n, 10, weight=True)
    check_cross_entropy(cuda_device, n, 2000, reduction="sum")


def test_cross_entropy_with_nan_and_infinite_rows(cuda_device):
    check_cross_entropy(cuda_device, 12, 40, special=True, reduction="none")
    check_cross_entropy(cuda_device, 6, 1100, special=True, reduction="none", label_smoothing=0.1)


def test_cross_entropy_of_an_all_ignored_batch_is_nan_for_mean_and_zero_for_sum(cuda_device):
    """As PyTorch: the mean divides 0 by a counted weight of 0 (NaN), the gradient is 0."""
    x = gg.zeros(4, 40, device="cuda", requires_grad=True)
    for reduction, want in (("mean", np.nan), ("sum", 0.0)):
        x.grad = None
        loss = gg.nn.functional.cross_entropy(x, gg.full((4,), -100, dtype=gg.int64, device="cuda"), reduction=reduction)
        loss.backward()
        np.testing.assert_equal(loss.item(), want)
        assert not x.grad.numpy().any()
    for reduction in ("mean", "sum"):
        check_cross_entropy(cuda_device, 20, 17, reduction=reduction, ignore_index="all")
        check_cross_entropy(cuda_device, 5, 1500, reduction=reduction, ignore_index="all", weight=True)


@pytest.mark.parametrize("c", [10, 1500])
def test_bad_targets_are_raised_at_the_next_read_naming_the_first(cuda_device, c):
    x = gg.randn(30, c, device="cuda", requires_grad=True)
    t = np.arange(30) % c
    t[17], t[25] = c, -3
    loss = gg.nn.functional.cross_entropy(x, gg.tensor(t, device="cuda"))
    with pytest.raises(gg.errors.GpugradIndexError, match=rf"target {c} of row 17 is outside \[0, {c - 1}\]"):
        loss.item()
    ok = gg.nn.functional.cross_entropy(x, gg.tensor(np.zeros(30, np.int64), device="cuda"))
    assert np.isfinite(ok.item())  # the failure was raised once; the device goes on


def test_bfloat16_cross_entropy_kernels(cuda_device):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    cp = cuda_device.backend.xp
    k = cuda_device.kernels
    for n, c in [(37, 33), (5, 1025)]:
        x, t = ce_inputs(n, c, "float32")
        xb = cp.asarray(x.astype(ml_dtypes.bfloat16))
        x32 = xb.astype(cp.float32)  # the same (rounded) values in float32
        tt = cp.asarray(t)
        for red in ("mean", "none"):
            got, lse, scale = k.cross_entropy_fwd(xb, tt, None, -100, 0.1, red)
            want, lse32, scale32 = k.cross_entropy_fwd(x32, tt, None, -100, 0.1, red)
            np.testing.assert_allclose(got.astype(cp.float32).get(), want.get(), rtol=1e-2, atol=1e-2)
            g = cp.ones((), xb.dtype) if red == "mean" else cp.ones(n, xb.dtype)
            gx = k.cross_entropy_bwd(xb, tt, None, lse, g, -100, 0.1, scale)
            gx32 = k.cross_entropy_bwd(x32, tt, None, lse32, g.astype(cp.float32), -100, 0.1, scale32)
            np.testing.assert_allclose(gx.astype(cp.float32).get(), gx32.get(), rtol=2e-2, atol=2e-3)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_wide_cross_entropy_is_the_float32_kernel_on_the_widened_logits(cuda_device, dtype):
    """The *_f32 variants (autocast's float32 loss of half-precision logits, no cast pass):
    float32 losses and scale bit for bit those of the float32 kernel on the widened logits;
    the logits' gradient in their dtype, that kernel's gradient rounded once."""
    cp = cuda_device.backend.xp
    k = cuda_device.kernels
    dt = gg.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)
    for n, c in [(37, 33), (3, 1025)]:
        x, t = ce_inputs(n, c, "float32", special=True)
        xl = cp.asarray(x.astype(dt))
        x32 = xl.astype(cp.float32)
        tt = cp.asarray(t)
        for red in ("mean", "sum", "none"):
            got, lse, scale = k.cross_entropy_fwd(xl, tt, None, -100, 0.1, red, wide=True)
            want, lse32, scale32 = k.cross_entropy_fwd(x32, tt, None, -100, 0.1, red)
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got.get(), want.get())
            np.testing.assert_array_equal(lse.get(), lse32.get())
            g = cp.full(() if red != "none" else n, 0.75, cp.float32)
            gx = k.cross_entropy_bwd(xl, tt, None, lse, g, -100, 0.1, scale)
            gx32 = k.cross_entropy_bwd(x32, tt, None, lse32, g, -100, 0.1, scale32)
            assert gx.dtype == xl.dtype
            np.testing.assert_array_equal(gx.astype(cp.float32).get(), gx32.astype(dt).astype(cp.float32).get())


# -- linear: bias + ReLU forward, the mask pass and the tiled GEMMs of backward ------------------
def check_linear(switch, n, k, m, dtype="float32", mode="tiled", relu=True, sms=None):
    """y = (relu)(x w^T + b) and its three gradients from the kernels and from the composed
    path agree; ``mode`` is the linear backward's way (tiled, cublas or auto), ``sms`` poses
    as a GPU of that many SMs (the tile choice). Returns the backward's choices."""
    kern = switch.kernels
    saved = kern.linear_mode, kern._sms
    kern.linear_mode, kern._sms = mode, sms if sms is not None else kern._sms
    kern.linear_choices.clear()
    rng = np.random.default_rng(n * 1000 + k * 10 + m)
    x, w, b, g = (rng.standard_normal(s).astype(dtype) for s in [(n, k), (m, k), (m,), (n, m)])

    def run():
        xt, wt, bt = (gg.tensor(a, device="cuda", requires_grad=True) for a in (x, w, b))
        y = (gg.functional.linear_relu if relu else gg.functional.linear)(xt, wt, bt)
        y.backward(gg.tensor(g, device="cuda"))
        return [y.numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()]

    try:
        tol = {"float32": 1e-4, "float64": 1e-10, "float16": 3e-2}[dtype]
        got = run()
        choices = dict(kern.linear_choices)
        _compare(got, switch.composed(run), tol, f"linear n={n} k={k} m={m} {dtype} {mode} relu={relu} sms={sms}")
        return choices
    finally:
        kern.linear_mode, kern._sms = saved


@pytest.mark.parametrize("mode,sms", [("tiled", 132), ("tiled", 1), ("cublas", None)])
@pytest.mark.parametrize("n,k,m", [(1, 1, 1), (33, 17, 9), (70, 45, 130), (65, 16, 64)])
def test_linear_kernels_with_partial_tiles(cuda_device, mode, sms, n, k, m):
    """sms=1 makes the 64-wide tiles win the choice; 132 (an H100/H200) the 32-wide ones
    for these small outputs. K = 17 and 45 leave a partial last K tile."""
    check_linear(cuda_device, n, k, m, mode=mode, sms=sms, relu=True)
    check_linear(cuda_device, n, k, m, mode=mode, sms=sms, relu=False)


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_linear_kernels_in_every_dtype(cuda_device, dtype):
    check_linear(cuda_device, 37, 45, 20, dtype, mode="tiled", sms=1)
    check_linear(cuda_device, 37, 45, 20, dtype, mode="cublas")


def test_bfloat16_linear_kernels(cuda_device):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    cp = cuda_device.backend.xp
    kern = cuda_device.kernels
    rng = np.random.default_rng(5)
    x, w, b, gy = (rng.standard_normal(s).astype(np.float32).astype(ml_dtypes.bfloat16)
                   for s in [(37, 45), (20, 45), (20,), (37, 20)])
    xb, wb, bb, gb_ = (cp.asarray(a) for a in (x, w, b, gy))
    y = cp.matmul(xb.astype(cp.float32), wb.astype(cp.float32).T).astype(xb.dtype)
    kern.bias_relu_(y, bb)
    y32 = np.maximum(x.astype(np.float32) @ w.astype(np.float32).T + b.astype(np.float32), 0)
    np.testing.assert_allclose(y.astype(cp.float32).get(), y32, rtol=2e-2, atol=2e-2)
    saved = kern.linear_mode, kern._sms
    kern.linear_mode, kern._sms = "tiled", 1
    try:
        gx, gw, gbias = kern.linear_backward(gb_, y, xb, wb, True, True, True)
    finally:
        kern.linear_mode, kern._sms = saved
    gz = np.where(y.astype(cp.float32).get() > 0, gy.astype(np.float32), 0)
    for got, want in [(gx, gz @ w.astype(np.float32)), (gw, gz.T @ x.astype(np.float32)), (gbias, gz.sum(0))]:
        np.testing.assert_allclose(got.astype(cp.float32).get(), want, rtol=3e-2, atol=5e-2)


def test_relu_bias_backward_stays_within_the_grid_limit(cuda_device, monkeypatch):
    """More row chunks than grid.y may hold: the blocks loop over the rest (a cap of 2 here
    stands for CUDA's 65535, reached from 16,776,961 rows)."""
    monkeypatch.setattr(cuda_device.kernels, "MAX_GRID_Y", 2)
    check_linear(cuda_device, 1100, 8, 40, mode="cublas")


# -- optimizers ----------------------------------------------------------------------------------
def check_optimizers(switch, count, dtype="float32", steps=2):
    rng = np.random.default_rng(count)
    shapes = [((i * 7) % 5, 3) if i % 6 else (0,) for i in range(count)]  # every sixth tensor is empty
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    target = [rng.standard_normal(s).astype(dtype) for s in shapes]

    def run():
        out = []
        for make in (lambda ps: gg.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
                     lambda ps: gg.optim.SGD(ps, lr=0.05),
                     lambda ps: gg.optim.Adam(ps, lr=0.01, weight_decay=0.01),
                     lambda ps: gg.optim.AdamW(ps, lr=0.01)):
            ps = [gg.tensor(a, device="cuda", requires_grad=True) for a in init]
            ts = [gg.tensor(a, device="cuda") for a in target]
            opt = make(ps)
            for _ in range(steps):
                opt.zero_grad()
                sum((((p - q) ** 2).sum() for p, q in zip(ps, ts)), gg.zeros((), dtype=dtype, device="cuda")).backward()
                opt.step()
            out += [p.numpy() for p in ps]
        return out

    tol = {"float32": 1e-5, "float64": 1e-12, "float16": 2e-3}[dtype]
    _compare(run(), switch.composed(run), tol, f"optimizers over {count} tensors ({dtype})")


@pytest.mark.parametrize("count", [1, ck.MAX_TENSORS, ck.MAX_TENSORS + 1, 41])
def test_optimizers_over_one_or_more_launches(cuda_device, count):
    check_optimizers(cuda_device, count)


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_optimizers_in_every_dtype(cuda_device, dtype):
    check_optimizers(cuda_device, 7, dtype)


def test_bfloat16_optimizer_kernels(cuda_device):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    cp = cuda_device.backend.xp
    kern = cuda_device.kernels
    rng = np.random.default_rng(8)
    p32 = [rng.standard_normal(s).astype(np.float32) for s in [(5,), (0,), (3, 4)]]
    g32 = [rng.standard_normal(a.shape).astype(np.float32) for a in p32]
    ps = [cp.asarray(a.astype(ml_dtypes.bfloat16)) for a in p32]
    gs = [cp.asarray(a.astype(ml_dtypes.bfloat16)) for a in g32]
    bufs = [cp.zeros(a.shape, kern.state_dtype(ps[0].dtype)) for a in p32]
    want = [p.astype(cp.float32).get() for p in ps]
    kern.sgd_step(ps, gs, bufs, 0.1, 0.9, 0.0, 0.0, False, True)
    for p, g, w in zip(ps, gs, want):
        np.testing.assert_allclose(p.astype(cp.float32).get(), w - 0.1 * g.astype(cp.float32).get(), rtol=1e-2,
                                   atol=1e-2)


# -- loss scaling: unscale and inf/NaN check in one pass ------------------------------------------
def _dtype(name):
    if name == "bfloat16":
        return np.dtype(pytest.importorskip("ml_dtypes").bfloat16)
    return np.dtype(name)


def check_amp_unscale(switch, count, dtype="float32", bad=None):
    """The kernel on ``count`` gradients (every fifth empty) against NumPy: each product as
    the array path computes it (float32 for float32, float64 for float64, float32 rounded
    once for the 2-byte floats), bit for bit, and the flag set exactly when ``bad`` (inf,
    -inf, NaN, or 'overflow': the type's largest finite value times an inv_scale of 4,
    which in float16 overflows only when rounded) sits first, in the middle or last of the
    first, a middle or the last non-empty gradient. A flag already set stays set."""
    cp, kern = switch.backend.xp, switch.kernels
    dt = _dtype(dtype)
    inv = np.float32(4.0 if bad == "overflow" else 1 / 3)
    rng = np.random.default_rng(count)
    host = [(rng.standard_normal(0 if i % 5 == 4 else i % 4 + 1) * 20).astype(dt) for i in range(count)]
    full = [i for i, g in enumerate(host) if g.size]
    places = [(w, at) for w in sorted({full[0], full[len(full) // 2], full[-1]})
              for at in sorted({0, host[w].size // 2, host[w].size - 1})] if bad is not None else [(None, None)]
    for which, at in places:
        gs = [g.copy() for g in host]
        if which is not None:
            gs[which][at] = np.finfo(dt).max if bad == "overflow" else bad
        acc = np.float64 if dt == np.float64 else np.float32
        with np.errstate(over="ignore", invalid="ignore"):
            want = [(g.astype(acc) * acc(inv)).astype(dt) for g in gs]
        dev = [cp.asarray(g) for g in gs]
        flag = cp.zeros(1, cp.int32)
        kern.amp_unscale_(dev, flag, cp.asarray(np.array([inv], np.float32)))
        where = f"amp_unscale over {count} {dtype} gradients, {bad} in gradient {which} at {at}"
        for k, (d, w) in enumerate(zip(dev, want)):
            assert d.dtype == dt and d.get().tobytes() == w.tobytes(), f"{where}: gradient {k}"
        assert int(flag.get()[0]) == (bad is not None), where
    flag = cp.ones(1, cp.int32)
    kern.amp_unscale_([cp.asarray(g) for g in host], flag, cp.asarray(np.array([inv], np.float32)))
    assert int(flag.get()[0]) == 1, "a clean call cleared the flag"


@pytest.mark.parametrize("count", [1, ck.MAX_GRADS, ck.MAX_GRADS + 1])
def test_amp_unscale_over_one_or_more_launches(cuda_device, count):
    """MAX_GRADS + 1 gradients take two launches: a NaN in the last is in the second."""
    check_amp_unscale(cuda_device, count)
    check_amp_unscale(cuda_device, count, bad=np.nan)


@pytest.mark.parametrize("bad", [None, np.inf, -np.inf, np.nan, "overflow"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_amp_unscale_in_every_dtype(cuda_device, dtype, bad):
    check_amp_unscale(cuda_device, 11, dtype, bad)


def test_amp_unscale_refuses_what_it_cannot_take(cuda_device):
    cp, kern = cuda_device.backend.xp, cuda_device.kernels
    err = gg.errors
    g, flag, inv = cp.ones((3, 4), cp.float32), cp.zeros(1, cp.int32), cp.full(1, 0.5, cp.float32)
    bad = [
        (err.ArgumentTypeError, "expected gradient 1 to be a device array, got ndarray",
         lambda: kern.amp_unscale_([g, np.ones(3, np.float32)], flag, inv)),
        (err.ArgumentTypeError, "expected inv_scale to be a device array, got float",
         lambda: kern.amp_unscale_([g], flag, 0.5)),
        (err.DTypeError, "takes float16/32/64 \\(or bfloat16\\) gradients, got int32",
         lambda: kern.amp_unscale_([cp.ones(3, cp.int32)], flag, inv)),
        (err.DTypeError, r"one dtype, got float32 \(gradient 0\) and float64 \(gradient 1, shape \(2,\)\)",
         lambda: kern.amp_unscale_([g, cp.ones(2, cp.float64)], flag, inv)),
        (err.ShapeError, r"expected gradient 0 \(shape \(4, 3\)\) to be C-contiguous",
         lambda: kern.amp_unscale_([g.T], flag, inv)),
        (err.DTypeError, "expected found_inf to be a one-element int32 array, got float32",
         lambda: kern.amp_unscale_([g], cp.zeros(1, cp.float32), inv)),
        (err.ShapeError, r"expected inv_scale to be a one-element array, got shape \(2,\)",
         lambda: kern.amp_unscale_([g], flag, cp.ones(2, cp.float32))),
    ]
    for error, match, call in bad:
        with pytest.raises(error, match=match):
            call()
    assert (g.get() == 1).all()  # nothing ran
    kern.amp_unscale_([], flag, inv)  # nothing to do, and nothing refused
    assert int(flag.get()[0]) == 0
