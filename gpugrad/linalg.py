"""gpugrad.linalg: the part of ``torch.linalg`` gpugrad provides (``vector_norm``)."""

from .functional.norms import vector_norm

__all__ = ["vector_norm"]
