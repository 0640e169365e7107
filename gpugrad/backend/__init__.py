"""Backends and the runtime choice between them.

``GPUGRAD_DEVICE`` = ``auto`` (default: cuda when CuPy imports and a GPU answers, else
cpu), ``cpu``, ``cuda`` or ``cuda:N``. It is read when a default device is first needed,
not at import. ``set_default_device`` overrides it.
"""

import os

from ..errors import BackendUnavailableError, DeviceError
from . import cuda as _cuda
from .base import Backend
from .cpu import CpuBackend
from .device import Device

__all__ = [
    "Backend",
    "Device",
    "cuda_available",
    "cuda_device_count",
    "cuda_unavailable_reason",
    "default_backend",
    "get_backend",
    "get_default_device",
    "set_default_device",
]

_backends = {}
_default = None
# set in a DataLoader worker forked from a process that had started a CUDA device: the
# CUDA driver cannot be used in such a child, so asking for a CUDA backend is refused with
# this reason rather than failing inside the driver
_cuda_refused = None

_ENV = "GPUGRAD_DEVICE"


def get_backend(device=None):
    """The Backend for ``device`` (str, Device, Backend or None for the default)."""
    if device is None:
        return _default if _default is not None else default_backend()
    if isinstance(device, Backend):
        return device
    dev = device if isinstance(device, Device) else Device(device)
    if _cuda_refused is not None and dev.type != "cpu":
        raise DeviceError(_cuda_refused)
    backend = _backends.get(dev)
    if backend is None:
        backend = CpuBackend() if dev.type == "cpu" else _cuda.CudaBackend(dev.index)
        _backends[dev] = backend
    return backend


def default_backend():
    """The default backend, resolving ``GPUGRAD_DEVICE`` on first use."""
    global _default
    if _default is None:
        spec = os.environ.get(_ENV, "auto").strip().lower() or "auto"
        if spec == "auto":
            spec = "cuda" if cuda_available() else "cpu"
        try:
            _default = get_backend(spec)
        except BackendUnavailableError as exc:
            raise BackendUnavailableError(f"{exc} (asked for by {_ENV}={os.environ[_ENV]!r})") from None
        except DeviceError:
            raise DeviceError(
                f"[{_ENV}] expected auto, cpu, cuda or cuda:N, got {os.environ[_ENV]!r}"
            ) from None
    return _default


def set_default_device(device):
    """Make ``device`` the one new tensors go to. ``None`` re-reads ``GPUGRAD_DEVICE``."""
    global _default
    _default = None if device is None else get_backend(device)


def get_default_device():
    return default_backend().device


def cuda_available():
    return _cuda.probe()[2] is None


def cuda_device_count():
    return _cuda.probe()[1]


def cuda_unavailable_reason():
    """Why CUDA cannot be used here, or None when it can."""
    return _cuda.probe()[2]
