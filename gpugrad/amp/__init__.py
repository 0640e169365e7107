"""gpugrad.amp: mixed-precision training helpers (PyTorch's ``torch.amp``): ``autocast``
(ops in low precision or float32 by PyTorch's policy) and ``GradScaler``."""

from .autocast import autocast, get_autocast_dtype, is_autocast_enabled
from .grad_scaler import GradScaler, GradScalerError

__all__ = ["GradScaler", "GradScalerError", "autocast", "get_autocast_dtype", "is_autocast_enabled"]
