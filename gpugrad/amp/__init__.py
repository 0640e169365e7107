"""gpugrad.amp: mixed-precision training helpers (PyTorch's ``torch.amp``): ``GradScaler``."""

from .grad_scaler import GradScaler, GradScalerError

__all__ = ["GradScaler", "GradScalerError"]
