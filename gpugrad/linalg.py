"""gpugrad.linalg: the part of ``torch.linalg`` gpugrad provides (``vector_norm``,
``matrix_norm`` without the SVD-based orders, ``norm``, ``cross``)."""

from .functional.linalg import linalg_cross as cross
from .functional.norms import linalg_norm as norm
from .functional.norms import matrix_norm, vector_norm

__all__ = ["cross", "matrix_norm", "norm", "vector_norm"]
