"""The CuPy stand-in of the CUDA emulation: it offers only names real CuPy has, refuses
what CuPy refuses, counts host reads, keeps devices apart and catches kernels that write
outside their arrays."""

import shutil
import warnings

import numpy as np
import pytest

from gpugrad.backend.emu import cupy_memory, fakecupy, launcher

cp, cupyx = fakecupy.cupy, fakecupy.cupyx

needs_cxx = pytest.mark.skipif(shutil.which("g++") is None, reason="the emulator compiles kernels with g++")

_SOURCE = r"""
extern "C" __global__ void gpugrad_test_fill(float* y, long long n, float v) {
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i < n) y[i] = v;
}
extern "C" __global__ void gpugrad_test_overrun(float* y, long long n, float v) {
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i <= n) y[i] = v;  // one element too far
}
"""


def _public(obj):
    return {n for n in dir(obj) if not n.startswith("_")}


def test_every_name_exists_in_real_cupy():
    real = pytest.importorskip("cupy")
    real_x = pytest.importorskip("cupyx")
    import cupyx.scipy.special as real_special

    modules = [(cp, real), (cp.cuda, real.cuda), (cp.cuda.runtime, real.cuda.runtime),
               (cp.cuda.nvrtc, real.cuda.nvrtc), (cp.random, real.random), (cupyx, real_x),
               (cupyx.scipy, real_x.scipy), (fakecupy.special, real_special)]
    for fake, genuine in modules:
        assert _public(fake) - _public(genuine) == set(), fake.__name__
    assert hasattr(real, "__version__")

    ours = {n for n in dir(cp.ndarray) if (not n.startswith("_") or n.endswith("__")) and n not in dir(object)
            and n not in ("__slots__", "__module__")}
    assert ours - set(dir(real.ndarray)) == set()
    for name in ("__cuda_array_interface__", "__dlpack__", "__dlpack_device__", "__array_ufunc__",
                 "__array_function__", "__array__", "__copy__", "__deepcopy__", "__len__", "__iter__"):
        assert name in ours
    classes = [(cp.ufunc, real.ufunc), (cp.random.RandomState, real.random.RandomState),
               (cp.cuda.Device, real.cuda.Device), (cp.cuda.Event, real.cuda.Event),
               (cp.cuda.Stream, real.cuda.Stream), (cp.cuda.MemoryPool, real.cuda.MemoryPool),
               (cp.cuda.MemoryPointer, real.cuda.MemoryPointer), (cp.cuda.Function, real.cuda.Function),
               (cp.RawModule, real.RawModule)]
    for fake, genuine in classes:
        assert _public(fake) - _public(genuine) == set(), fake.__name__
    # what instances carry (attributes set in __init__, not on the class)
    assert _public(cp.add) - _public(real.add) == set()
    assert _public(cp.cuda.Device(0)) - _public(real.cuda.Device) == set()
    assert _public(cp.zeros(2).data) - _public(real.cuda.MemoryPointer) == set()
    assert issubclass(cupyx.DeviceSynchronized, RuntimeError) and issubclass(real_x.DeviceSynchronized, RuntimeError)


def test_no_implicit_conversion_and_no_host_operands():
    a = cp.arange(3, dtype=cp.float32)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        a + np.ones(3, np.float32)
    with pytest.raises(TypeError, match="Unsupported type"):
        np.ones(3, np.float32) * a  # NumPy hands the ufunc to CuPy, which refuses the host operand
    with pytest.raises(TypeError, match="Unsupported type"):
        cp.exp(np.ones(3))
    with pytest.raises(TypeError, match="Only cupy arrays can be concatenated"):
        cp.concatenate([a, np.ones(3)])
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        a[:] = np.ones(3, np.float32)
    with pytest.raises(TypeError, match="no implementation found"):
        np.linalg.norm(a)  # a NumPy function CuPy's stand-in does not have
    assert (a + np.float32(1) + 2).get().tolist() == [3.0, 4.0, 5.0]  # scalars are fine
    b = np.exp(a)  # NumPy's functions on a device array run CuPy's, as with CuPy
    assert isinstance(b, cp.ndarray) and np.allclose(b.get(), np.exp([0.0, 1.0, 2.0]))
    a[np.array([0, 2])] = np.array([7.0, 9.0], np.float32)  # host index arrays and values are uploaded
    assert a.get().tolist() == [7.0, 1.0, 9.0]


def test_index_arrays_wrap_around_as_in_cupy():
    a = cp.arange(12).reshape(3, 4)
    assert a[cp.asarray([3, -1])].get().tolist() == [[0, 1, 2, 3], [8, 9, 10, 11]]
    assert a[..., [5]].get().ravel().tolist() == [1, 5, 9] and a.take(cp.asarray([13])).get().tolist() == [1]
    assert cp.take_along_axis(a, cp.asarray([[4], [5], [6]]), 1).get().ravel().tolist() == [0, 5, 10]
    z = cp.zeros(3, cp.float32)
    cp.add.at(z, cp.asarray([3, 4]), cp.ones(2, cp.float32))
    assert z.get().tolist() == [1.0, 1.0, 0.0]
    with pytest.raises(IndexError, match="out of bounds"):
        a[5]  # a Python integer is checked on the host


def test_results_are_device_arrays_and_views_share_memory():
    a = cp.zeros((3, 4), cp.float32)
    assert a[1].data.ptr == a.data.ptr + 16 and a[:, 1:].data.ptr == a.data.ptr + 4
    assert a.T.base is a and a[1].T.base is a and cp.may_share_memory(a, a[2])
    s = a.sum()
    assert isinstance(s, cp.ndarray) and s.shape == ()
    assert cp.ascontiguousarray(s).shape == (1,)  # CuPy's ascontiguousarray makes a 0-d array 1-d
    assert a.data.ptr % 256 == 0 and a.__cuda_array_interface__["data"] == (a.data.ptr, False)
    assert cp.empty(4, cp.float32).get().tolist() != [0.0] * 4  # fresh memory is poisoned, not zeroed


def test_add_at_takes_only_the_dtypes_cuda_has_atomics_for():
    z = cp.zeros(3, cp.float32)
    cp.add.at(z, cp.asarray([0, 0, 2]), cp.ones(3, cp.float32))
    assert z.get().tolist() == [2.0, 0.0, 1.0]
    with pytest.raises(TypeError, match="cupy.add.at only supports int32, float16"):
        cp.add.at(cp.zeros(3, cp.int64), cp.asarray([0]), 1)
    with pytest.warns(DeprecationWarning, match="cupy.add.at"):
        cupyx.scatter_add(z, cp.asarray([1]), cp.ones(1, cp.float32))
    assert z.get().tolist() == [2.0, 1.0, 1.0]


def test_host_reads_are_counted_and_refused_where_synchronizing_is_disallowed():
    a = cp.ones((2, 2), cp.float32)
    before = fakecupy.host_reads()
    float(a.sum())
    a.get()
    repr(a)
    cp.asnumpy(a)
    a[a > 0]  # a boolean mask's count is read back to size the result
    b = (a * 2).reshape(4)[1:]  # no read
    assert fakecupy.host_reads() - before == 5 and len(b) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # allow_synchronize is deprecated in CuPy too
        with cupyx.allow_synchronize(False):
            (a + 1).sum()  # device work only
            with pytest.raises(cupyx.DeviceSynchronized):
                a.get()
            with pytest.raises(cupyx.DeviceSynchronized):
                bool(a.any())
    assert fakecupy.host_reads() - before == 5


def test_arrays_stay_on_their_device(monkeypatch):
    monkeypatch.setenv("GPUGRAD_CUDA_EMULATION", "2")
    assert cp.cuda.runtime.getDeviceCount() == 2
    with cp.cuda.Device(1):
        b = cp.ones(3, cp.float32)
        assert b.device.id == 1 and b.data.device_id == 1
    a = cp.ones(3, cp.float32)
    with pytest.raises(ValueError, match=r"resides \(1\) is different from the current device \(0\)"):
        a + b
    with pytest.raises(ValueError, match="different from the current device"):
        b.sum()
    moved = cp.asarray(b)  # asarray copies an array of another device to the current one
    assert moved.device.id == 0 and (a + moved).get().tolist() == [2.0] * 3
    assert b[1:].device.id == 1 and b.copy().device.id == 1  # views and copies need no current device
    with pytest.raises(cp.cuda.runtime.CUDARuntimeError, match="invalid device ordinal"):
        cp.cuda.Device(2).use()
    pool = cp.get_default_memory_pool()
    with cp.cuda.Device(1):
        used = pool.used_bytes()
        del b
        assert pool.used_bytes() == used - 512  # the pool counts the current device's bytes


def test_memory_pool_counts_and_caches():
    pool = cp.get_default_memory_pool()
    pool.free_all_blocks()
    used, total = pool.used_bytes(), pool.total_bytes()
    x = cp.zeros(1000, cp.float32)
    assert pool.used_bytes() == used + 4096 and pool.total_bytes() >= total + 4096
    del x
    assert pool.used_bytes() == used and pool.total_bytes() == total + 4096  # the block stays cached
    pool.free_all_blocks()
    assert pool.total_bytes() == used
    previous = cp.cuda.get_allocator()
    cp.cuda.set_allocator(None)  # no pool: CuPy then allocates from the device directly
    try:
        y = cp.zeros(1000, cp.float32)
        assert pool.used_bytes() == used and y.get().sum() == 0
    finally:
        cp.cuda.set_allocator(previous)


def test_dlpack_shares_the_device_memory_and_numpy_refuses_it():
    a = cp.arange(6, dtype=cp.float32).reshape(2, 3)
    assert a.__dlpack_device__() == (2, 0)
    b = cp.from_dlpack(a[1:])
    assert b.data.ptr == a[1:].data.ptr and b.get().tolist() == [[3.0, 4.0, 5.0]]
    with pytest.raises((RuntimeError, BufferError)):
        np.from_dlpack(a)


def test_random_state_draws_the_dtypes_cupy_draws():
    rs = cp.random.RandomState(3)
    assert rs.standard_normal((2, 3), dtype=cp.float32).dtype == np.float32
    assert rs.randint(0, 5, size=(4,), dtype=cp.int64).get().max() < 5
    with pytest.raises(TypeError, match="float32 and float64"):
        rs.random_sample((2,), dtype=cp.float16)


@needs_cxx
def test_kernel_launches_follow_cupy_and_red_zones_catch_overruns():
    mod = cp.RawModule(code=_SOURCE, options=("-std=c++17",))
    fill = mod.get_function("gpugrad_test_fill")
    y = cp.zeros(300, cp.float32)
    fill((2,), (256,), (y, np.int64(y.size), np.float32(3.0)))
    assert y.get().tolist() == [3.0] * 300
    fill((0,), (300,), (y[:10], np.int64(10), np.float32(1.0)))  # CuPy turns a 0 into 1
    assert y.get()[:11].tolist() == [1.0] * 10 + [3.0]
    with pytest.raises(TypeError, match="Argument 'grid' has incorrect type"):
        fill([1], (32,), (y, np.int64(1), np.float32(0.0)))
    with pytest.raises(launcher.EmulationError, match="dynamic shared memory"):
        fill((1,), (32,), (y, np.int64(1), np.float32(0.0)), shared_mem=128)
    with pytest.raises(launcher.EmulationError, match="parameter 2 'v'"):
        fill((1,), (32,), (y, np.int64(1), 0.5))  # a Python float is a double, the kernel reads a float
    with pytest.raises(launcher.EmulationError, match="no kernel named 'missing'"):
        mod.get_function("missing")
    z = cp.empty(64, cp.float32)
    with pytest.raises(launcher.EmulationError, match=r"gpugrad_test_overrun wrote outside.*'y'.*past its end"):
        mod.get_function("gpugrad_test_overrun")((1,), (128,), (z, np.int64(z.size), np.float32(1.0)))
    assert cupy_memory.damaged_allocations() == []  # reported once, guard restored
