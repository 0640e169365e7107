"""gpugrad.data: datasets and the DataLoader."""

from . import datasets
from .loader import DataLoader, Dataset, TensorDataset

__all__ = ["DataLoader", "Dataset", "TensorDataset", "datasets"]
