"""gpugrad.utils: PyTorch's ``torch.utils`` names, so that ``from torch.utils.data import
DataLoader`` becomes ``from gpugrad.utils.data import DataLoader``."""

from . import data

__all__ = ["data"]
