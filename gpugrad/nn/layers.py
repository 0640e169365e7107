"""Layers with parameters: Linear, LowRankLinear, Embedding, Dropout; and the shape layers
Flatten and Unflatten."""

import math

from .. import creation
from .. import functional as F
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, GpugradIndexError, ShapeError
from ..random import Generator
from . import init
from .functional import dropout, embedding
from .module import Module
from .parameter import Parameter


class Identity(Module):
    def forward(self, x):
        return x


class Linear(Module):
    """y = x W^T + b with W of shape (out_features, in_features); PyTorch's default init
    U(-1/sqrt(in), 1/sqrt(in)) for W and b."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(creation.empty(out_features, in_features, device=device, dtype=dtype))
        self.bias = Parameter(creation.empty(out_features, device=device, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class LowRankLinear(Module):
    """The low-rank linear unit: W = U V with U (out, rank), V (rank, in), so a layer of
    n x m weights costs (n + m) * rank parameters; y = (x V^T) U^T + b."""

    def __init__(self, in_features, out_features, rank, bias=True, device=None, dtype=None):
        super().__init__()
        if not 0 < rank <= min(in_features, out_features):
            raise ArgumentError(f"[LowRankLinear] rank must be in 1..{min(in_features, out_features)}, got {rank}")
        self.in_features, self.out_features, self.rank = in_features, out_features, rank
        self.v = Parameter(creation.empty(rank, in_features, device=device, dtype=dtype))
        self.u = Parameter(creation.empty(out_features, rank, device=device, dtype=dtype))
        self.bias = Parameter(creation.zeros(out_features, device=device, dtype=dtype)) if bias else None
        init.xavier_uniform_(self.v)
        init.xavier_uniform_(self.u)

    def forward(self, x):
        return F.linear(F.linear(x, self.v), self.u, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, rank={self.rank}"


class Embedding(Module):
    """A lookup table of ``num_embeddings`` rows of size ``embedding_dim``.

    ``padding_idx`` rows get no gradient; ``sparse=True`` gives the weight a row-sparse
    gradient (``weight.grad`` is a :class:`~gpugrad.nn.SparseGrad`: only the looked-up rows),
    for :class:`~gpugrad.optim.SparseAdam`.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, sparse=False, _weight=None,
                 freeze=False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim, self.sparse = num_embeddings, embedding_dim, sparse
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise GpugradIndexError(f"[Embedding] padding_idx {padding_idx} out of range for {num_embeddings} rows")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        if _weight is None:
            w = creation.randn(num_embeddings, embedding_dim, device=device, dtype=dtype)
            if padding_idx is not None:
                w[padding_idx] = 0.0
        else:
            w = _weight.detach() if isinstance(_weight, Parameter) else _weight
            if tuple(w.shape) != (num_embeddings, embedding_dim):
                raise ArgumentError(f"[Embedding] weight shape {w.shape} != ({num_embeddings}, {embedding_dim})")
        self.weight = Parameter(w, requires_grad=not freeze)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, sparse=False):
        """An Embedding holding ``embeddings`` (rows x dim); frozen unless ``freeze=False``."""
        rows, dim = embeddings.shape
        return cls(rows, dim, padding_idx, sparse, _weight=embeddings, freeze=freeze)

    def forward(self, idx):
        if idx.dtype.kind not in "iu":
            raise DTypeError(f"[Embedding] indices must be integers, got {idx.dtype}")
        return embedding(idx, self.weight, self.padding_idx, self.sparse)

    def extra_repr(self):
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}" + (", sparse=True" if self.sparse else "")


class Dropout(Module):
    """Zero each element with probability p in training, scaling the rest by 1/(1-p). The
    masks come from ``generator`` (a ``gpugrad.Generator`` on the input's device) when
    given, else from the device's default generator; ``generator`` extends PyTorch's
    signature, so that a model's masks can be its own stream (reproducible whatever other
    threads draw)."""

    def __init__(self, p=0.5, *, generator=None):
        super().__init__()
        if not 0 <= p <= 1:
            raise ArgumentError(f"[Dropout] p must be in [0, 1], got {p}")
        if generator is not None and not isinstance(generator, Generator):
            raise ArgumentTypeError(f"[Dropout] expected a gpugrad.Generator, got {type(generator).__name__}")
        self.p = p
        self.generator = generator

    def forward(self, x):
        return dropout(x, self.p, self.training, generator=self.generator)

    def extra_repr(self):
        return f"p={self.p}"


class Flatten(Module):
    """Flattens dims ``start_dim..end_dim`` into one (by default all but the batch dim), as
    ``torch.nn.Flatten``: (N, 1, 8, 8) -> (N, 64)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        for name, d in (("start_dim", start_dim), ("end_dim", end_dim)):
            if not isinstance(d, int) or isinstance(d, bool):
                raise ArgumentTypeError(f"[Flatten] {name} must be an int, got {type(d).__name__}")
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Splits dim ``dim`` into ``unflattened_size`` (one entry may be -1), as
    ``torch.nn.Unflatten``: Unflatten(1, (1, 8, 8)) takes (N, 64) to (N, 1, 8, 8)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise ArgumentTypeError(f"[Unflatten] dim must be an int, got {type(dim).__name__}")
        if not isinstance(unflattened_size, (tuple, list)) or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in unflattened_size
        ):
            raise ArgumentTypeError(f"[Unflatten] unflattened_size must be a tuple of ints, got {unflattened_size!r}")
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        if not -x.ndim <= self.dim < max(x.ndim, 1):
            raise GpugradIndexError(
                f"[Unflatten] dim {self.dim} is out of range for an input with {x.ndim} dims (shape {x.shape})"
            )
        d = self.dim % x.ndim
        sizes = self.unflattened_size
        known = math.prod(n for n in sizes if n != -1)
        if sizes.count(-1) > 1 or (
            x.shape[d] != known if -1 not in sizes else (known == 0 or x.shape[d] % known)
        ):
            raise ShapeError(
                f"[Unflatten] cannot split dim {self.dim} of size {x.shape[d]} into {sizes} (input shape {x.shape})"
            )
        return x.reshape(x.shape[:d] + sizes + x.shape[d + 1 :])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
