"""``gpugrad.cuda``: is CUDA usable here, and the CUDA device helpers.

Nothing here imports CuPy until asked: ``is_available()`` probes once and remembers.
"""

from .backend import cuda_available, cuda_device_count, cuda_unavailable_reason, get_backend


def is_available():
    """True when CuPy imports and at least one NVIDIA GPU answers."""
    return cuda_available()


def device_count():
    return cuda_device_count()


def unavailable_reason():
    """Why CUDA cannot be used (no CuPy / no driver / no GPU, and what to install), or None."""
    return cuda_unavailable_reason()


def synchronize(device=None):
    """Wait until all work queued on a CUDA device has finished."""
    get_backend(device if device is not None else "cuda").synchronize()


def manual_seed(seed, device=None):
    """Seed one CUDA device's generator (``gpugrad.manual_seed`` seeds them all)."""
    get_backend(device if device is not None else "cuda").seed(int(seed))


def memory_allocated():
    """Bytes of GPU memory held by live tensors (CuPy's memory pool)."""
    from .backend import cuda as _c

    return _c.memory_allocated()


def max_memory_allocated():
    """The peak of ``memory_allocated()`` since start or ``reset_peak_memory_stats()``."""
    from .backend import cuda as _c

    return _c.max_memory_allocated()


def reset_peak_memory_stats():
    from .backend import cuda as _c

    _c.reset_peak_memory_stats()


def memory_reserved():
    """Bytes the memory pool holds from the driver (in use or cached for reuse)."""
    from .backend import cuda as _c

    return _c.memory_reserved()


def empty_cache():
    """Return cached, unused GPU memory to the driver."""
    from .backend import cuda as _c

    _c.empty_cache()
