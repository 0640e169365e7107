"""``torch.utils.data`` under gpugrad: every public name of ``gpugrad.data`` (Dataset,
TensorDataset, DataLoader, ...), the same objects."""

from ..data import *  # noqa: F403 - the re-export is the point
from ..data import __all__  # noqa: F401
