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


def memory_allocated(device=None):
    """Bytes of GPU memory held by live tensors on ``device`` (CuPy's memory pool; default cuda:0)."""
    from .backend import cuda as _c

    return _c.memory_allocated(device)


def max_memory_allocated(device=None):
    """The peak of ``memory_allocated(device)`` since start or ``reset_peak_memory_stats()``."""
    from .backend import cuda as _c

    return _c.max_memory_allocated(device)


def reset_peak_memory_stats(device=None):
    from .backend import cuda as _c

    _c.reset_peak_memory_stats(device)


def memory_reserved(device=None):
    """Bytes the memory pool of ``device`` holds from the driver (in use or cached for reuse)."""
    from .backend import cuda as _c

    return _c.memory_reserved(device)


def empty_cache():
    """Return cached, unused GPU memory of every device to the driver."""
    from .backend import cuda as _c

    _c.empty_cache()
