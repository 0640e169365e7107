"""Layers with parameters: Linear, LowRankLinear, Bilinear, Embedding, EmbeddingBag; Dropout
and AlphaDropout; and the shape layers Flatten and Unflatten."""

import math

from .. import creation
from .. import functional as F
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, GpugradIndexError, ShapeError
from ..random import Generator
from . import init
from .functional import alpha_dropout, bilinear, dropout, embedding, embedding_bag
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

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None,
                 freeze=None):
        super().__init__()
        if scale_grad_by_freq:
            raise ArgumentError("[Embedding] scale_grad_by_freq=True is not supported")
        freeze = _freeze if freeze is None else freeze
        self.num_embeddings, self.embedding_dim, self.sparse = num_embeddings, embedding_dim, sparse
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, scale_grad_by_freq
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
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding holding ``embeddings`` (rows x dim); frozen unless ``freeze=False``."""
        rows, dim = embeddings.shape
        return cls(rows, dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse, _weight=embeddings,
                   _freeze=freeze)

    def forward(self, idx):
        if idx.dtype.kind not in "iu":
            raise DTypeError(f"[Embedding] indices must be integers, got {idx.dtype}")
        return embedding(idx, self.weight, self.padding_idx, self.max_norm, self.norm_type, sparse=self.sparse)

    def extra_repr(self):
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        norm = "" if self.max_norm is None else f", max_norm={self.max_norm}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}{norm}" + (", sparse=True" if self.sparse else "")


class EmbeddingBag(Module):
    """Sums, means or maxes of bags of embedding rows (see ``nn.functional.embedding_bag``):
    ``forward(input, offsets=None, per_sample_weights=None)`` -> (bags, embedding_dim).
    The weight starts N(0, 1), as PyTorch's."""

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                 mode="mean", sparse=False, _weight=None, include_last_offset=False, padding_idx=None, device=None,
                 dtype=None):
        super().__init__()
        if mode not in ("sum", "mean", "max"):
            raise ArgumentError(f"[EmbeddingBag] mode must be 'sum', 'mean' or 'max', got {mode!r}")
        if sparse or scale_grad_by_freq:
            raise ArgumentError("[EmbeddingBag] sparse=True and scale_grad_by_freq=True are not supported")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise GpugradIndexError(f"[EmbeddingBag] padding_idx {padding_idx} out of range for {num_embeddings} "
                                        "rows")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim, self.mode = num_embeddings, embedding_dim, mode
        self.max_norm, self.norm_type, self.scale_grad_by_freq, self.sparse = max_norm, norm_type, False, False
        self.include_last_offset, self.padding_idx = include_last_offset, padding_idx
        if _weight is None:
            w = creation.randn(num_embeddings, embedding_dim, device=device, dtype=dtype)
            if padding_idx is not None:
                w[padding_idx] = 0.0
        else:
            w = _weight.detach()
            if tuple(w.shape) != (num_embeddings, embedding_dim):
                raise ShapeError(f"[EmbeddingBag] weight shape {w.shape} != ({num_embeddings}, {embedding_dim})")
        self.weight = Parameter(w)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                        mode="mean", sparse=False, include_last_offset=False, padding_idx=None):
        rows, dim = embeddings.shape
        bag = cls(rows, dim, max_norm, norm_type, scale_grad_by_freq, mode, sparse, embeddings, include_last_offset,
                  padding_idx)
        bag.weight.requires_grad_(not freeze)
        return bag

    def forward(self, input, offsets=None, per_sample_weights=None):  # noqa: A002 - PyTorch's names
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, mode=self.mode,
                             per_sample_weights=per_sample_weights, include_last_offset=self.include_last_offset,
                             padding_idx=self.padding_idx)

    def extra_repr(self):
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}, mode={self.mode!r}{pad}"


class Bilinear(Module):
    """y = x1^T A x2 + b with A of shape (out_features, in1_features, in2_features); PyTorch's
    init U(-1/sqrt(in1), 1/sqrt(in1)) for A and b."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = Parameter(creation.empty(out_features, in1_features, in2_features, device=device, dtype=dtype))
        self.bias = Parameter(creation.empty(out_features, device=device, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.in1_features) if self.in1_features else 0.0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


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


class AlphaDropout(Module):
    """Dropout that keeps SELU activations' mean and variance (see ``alpha_dropout``)."""

    def __init__(self, p=0.5, inplace=False, *, generator=None):
        super().__init__()
        if not 0 <= p <= 1:
            raise ArgumentError(f"[AlphaDropout] p must be in [0, 1], got {p}")
        if generator is not None and not isinstance(generator, Generator):
            raise ArgumentTypeError(f"[AlphaDropout] expected a gpugrad.Generator, got {type(generator).__name__}")
        self.p, self.inplace, self.generator = p, inplace, generator

    def forward(self, x):
        return alpha_dropout(x, self.p, self.training, self.inplace, generator=self.generator)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


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
