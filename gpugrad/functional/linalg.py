"""matmul (1-D, 2-D, batched with broadcasting) and linear."""

import numbers

import numpy as np

from ..amp.autocast import gate as _autocast
from ..dtypes import is_floating
from ..errors import ArgumentError, ArgumentTypeError, DeviceError, DTypeError, ShapeError
from ..ops.fused import Linear
from ..ops.linalg import Matmul
from ..tensor import Tensor
from ._util import axis


def matmul(a, b):
    """NumPy/PyTorch matmul: 1-D operands are promoted and the extra dim removed; leading
    (batch) dims broadcast."""
    if _autocast.active and _autocast.engaged(a, b):
        return _autocast.lower(matmul, a, b)
    return _matmul(a, b)


def _matmul(a, b):
    """matmul without autocast's check: for products outside its low-precision list (dot)."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise ArgumentTypeError(f"[matmul] expected two tensors, got {type(a).__name__} and {type(b).__name__}")
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"[matmul] both operands need at least 1 dim, got shapes {a.shape} and {b.shape}")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise ShapeError(
            f"[matmul] expected a.shape[-1] == b.shape[-2], got {a.shape} and {b.shape}"
        )
    if a.dtype.kind == "b" or b.dtype.kind == "b":
        raise DTypeError(f"[matmul] bool operands are not supported, got {a.dtype} and {b.dtype}")
    if a.dtype != b.dtype:  # PyTorch promotes nothing here: a float64 batch into a float32 model is a bug
        raise DTypeError(
            f"[matmul] expected both operands to have the same dtype, got {a.dtype} and {b.dtype}; "
            f"convert one first, e.g. with {_cast_hint(a.dtype if str(a.dtype) == 'float32' else b.dtype)}"
        )
    try:
        return Matmul()(a, b)
    except ValueError:
        raise ShapeError(f"[matmul] batch dims do not broadcast: {a.shape} and {b.shape}") from None


def _cast_hint(dtype):
    """How to convert a tensor to ``dtype``: ``.float()`` for float32, and so on."""
    return {"float32": ".float()", "float64": ".double()", "float16": ".half()"}.get(str(dtype), f".to({dtype})")


def _linear(x, weight, bias, relu, op):
    if not isinstance(x, Tensor) or not isinstance(weight, Tensor):
        raise ArgumentTypeError(f"[{op}] expected tensors for x and weight")
    if bias is not None and not isinstance(bias, Tensor):
        raise ArgumentTypeError(f"[{op}] expected a tensor or None for bias, got {type(bias).__name__}")
    for what, t in (("input", x), ("bias", bias)):
        if t is not None and t.dtype != weight.dtype:  # as PyTorch refuses it
            other = f" (or the layer with {_cast_hint(t.dtype)})" if is_floating(t.dtype) else ""
            raise DTypeError(
                f"[{op}] the {what} is {t.dtype} but the weight is {weight.dtype}; convert the {what} "
                f"with {_cast_hint(weight.dtype)}{other}"
            )
    fused = (
        weight.ndim == 2 and x.ndim >= 1 and x.dtype == weight.dtype and is_floating(x.dtype)
        and (bias is None or (bias.ndim == 1 and bias.dtype == x.dtype))
    )
    if fused:
        if x.shape[-1] != weight.shape[1]:
            raise ShapeError(
                f"[{op}] x has {x.shape[-1]} features, weight expects {weight.shape[1]} (shapes {x.shape}, {weight.shape})"
            )
        if bias is not None and bias.shape[0] != weight.shape[0]:
            raise ShapeError(f"[{op}] bias has shape {bias.shape}, expected ({weight.shape[0]},)")
        return Linear(relu)(x, weight, bias) if bias is not None else Linear(relu)(x, weight)
    y = matmul(x, weight.mT if weight.ndim > 1 else weight)
    y = y if bias is None else y + bias
    return y.relu() if relu else y


def linear(x, weight, bias=None):
    """x @ weight.T + bias, with weight of shape (out_features, in_features): one fused op."""
    if _autocast.active and _autocast.engaged(x, weight):
        return _autocast.lower(linear, x, weight, bias)
    return _linear(x, weight, bias, False, "linear")


def linear_relu(x, weight, bias=None):
    """relu(x @ weight.T + bias) as one op: the ReLU mask and bias gradient are fused
    (compiled kernels on the CPU when built)."""
    if _autocast.active and _autocast.engaged(x, weight):
        return _autocast.lower(linear_relu, x, weight, bias)
    return _linear(x, weight, bias, True, "linear_relu")


# -- mm, bmm, addmm, outer, dot, vdot, inner, tensordot, einsum, kron, cross (issue 17) ----------
def _tensors(op, *ts):
    for t in ts:
        if not isinstance(t, Tensor):
            raise ArgumentTypeError(f"[{op}] expected tensors, got {type(t).__name__}")
    for t in ts[1:]:
        if t._backend is not ts[0]._backend:
            raise DeviceError(f"[{op}] expected all tensors on one device, got {ts[0].device} and {t.device}")


def _same_dtype(op, *ts):
    """PyTorch's products refuse mixed dtypes (and bool): no silent float64 or int promotion."""
    for t in ts:
        if t.dtype.kind == "b":
            raise DTypeError(f"[{op}] bool operands are not supported, got {t.dtype}")
    for t in ts[1:]:
        if t.dtype != ts[0].dtype:
            hint = _cast_hint(ts[0].dtype if str(ts[0].dtype) == "float32" else t.dtype)
            raise DTypeError(f"[{op}] expected all operands to have the same dtype, got {ts[0].dtype} and {t.dtype}; "
                             f"convert one first, e.g. with {hint}")


def _ndims(op, t, n, name):
    if t.ndim != n:
        raise ShapeError(f"[{op}] expected {name} to be {n}-D, got {t.ndim}-D (shape {t.shape})")


def mm(input, mat2):  # noqa: A002 - PyTorch's names
    """``torch.mm``: the (n, m) @ (m, p) matrix product, both 2-D (no broadcasting)."""
    if _autocast.active and _autocast.engaged(input, mat2):
        return _autocast.lower(mm, input, mat2)
    _tensors("mm", input, mat2)
    _ndims("mm", input, 2, "input")
    _ndims("mm", mat2, 2, "mat2")
    if input.shape[1] != mat2.shape[0]:
        raise ShapeError(f"[mm] expected input.shape[1] == mat2.shape[0], got {input.shape} and {mat2.shape}")
    _same_dtype("mm", input, mat2)
    return matmul(input, mat2)


def bmm(input, mat2):  # noqa: A002
    """``torch.bmm``: batched (b, n, m) @ (b, m, p), the batch sizes equal (no broadcasting)."""
    if _autocast.active and _autocast.engaged(input, mat2):
        return _autocast.lower(bmm, input, mat2)
    _tensors("bmm", input, mat2)
    _ndims("bmm", input, 3, "input")
    _ndims("bmm", mat2, 3, "mat2")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise ShapeError(f"[bmm] expected shapes (b, n, m) and (b, m, p), got {input.shape} and {mat2.shape}")
    _same_dtype("bmm", input, mat2)
    return matmul(input, mat2)


def _scale(t, c, op):
    if not is_floating(t.dtype) and isinstance(c, float) and not c.is_integer():
        raise ArgumentTypeError(f"[{op}] a fractional beta or alpha needs float tensors, got {t.dtype}")
    return t * (c if is_floating(t.dtype) else int(c))


def addmm(input, mat1, mat2, *, beta=1, alpha=1):  # noqa: A002
    """``torch.addmm``: ``beta * input + alpha * (mat1 @ mat2)``, input broadcast to the
    product's shape; with ``beta=0`` input is not read (its NaN do not spread), as in PyTorch."""
    if _autocast.active and _autocast.engaged(input, mat1, mat2):
        return _autocast.lower(addmm, input, mat1, mat2, beta=beta, alpha=alpha)
    _tensors("addmm", input, mat1, mat2)
    _same_dtype("addmm", input, mat1, mat2)
    prod = mm(mat1, mat2)
    try:
        fits = np.broadcast_shapes(tuple(input.shape), tuple(prod.shape)) == tuple(prod.shape)
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"[addmm] input of shape {input.shape} does not broadcast to {prod.shape}")
    out = prod if alpha == 1 else _scale(prod, alpha, "addmm")
    if beta == 0:
        return out
    return out + (input if beta == 1 else _scale(input, beta, "addmm"))


def outer(input, vec2):  # noqa: A002
    """``torch.outer``: the (n, m) matrix ``input[i] * vec2[j]`` of two 1-D tensors (dtypes
    promote as in a product)."""
    _tensors("outer", input, vec2)
    _ndims("outer", input, 1, "input")
    _ndims("outer", vec2, 1, "vec2")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


def dot(input, tensor):  # noqa: A002
    """``torch.dot``: the sum of products of two 1-D tensors of one size and dtype (under
    autocast: of the wider dtype)."""
    if _autocast.active and _autocast.engaged(input, tensor):
        return _autocast.promote(dot, input, tensor)
    return _dot("dot", input, tensor)


def vdot(input, other):  # noqa: A002
    """``torch.vdot``: ``dot`` with the first operand conjugated (the same on real tensors)."""
    if _autocast.active and _autocast.engaged(input, other):
        return _autocast.promote(vdot, input, other)
    return _dot("vdot", input, other)


def _dot(op, a, b):
    _tensors(op, a, b)
    _ndims(op, a, 1, "the first operand")
    _ndims(op, b, 1, "the second operand")
    if a.shape != b.shape:
        raise ShapeError(f"[{op}] expected vectors of one size, got {a.shape[0]} and {b.shape[0]}")
    _same_dtype(op, a, b)
    return _matmul(a, b)


def inner(input, other):  # noqa: A002
    """``torch.inner``: the sum over the last dims (a product when either is 0-d); the result
    has input's leading dims then other's."""
    if _autocast.active and _autocast.engaged(input, other):
        return _autocast.lower(inner, input, other)
    _tensors("inner", input, other)
    _same_dtype("inner", input, other)
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise ShapeError(f"[inner] expected the last dims to match, got shapes {input.shape} and {other.shape}")
    return tensordot(input, other, ([input.ndim - 1], [other.ndim - 1]), op="inner")


def tensordot(a, b, dims=2, out=None, *, op="tensordot"):
    """``torch.tensordot``: contract the last ``dims`` dims of ``a`` with the first ``dims`` of
    ``b``, or the dims named by a pair of lists; the result has a's remaining dims then b's.
    One matmul after permuting and reshaping (see ``_contract``)."""
    if _autocast.active and _autocast.engaged(a, b):
        return _autocast.lower(tensordot, a, b, dims, out, op=op)
    _tensors(op, a, b)
    if out is not None:
        raise ArgumentError(f"[{op}] out= is not supported; use the returned tensor")
    _same_dtype(op, a, b)
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, numbers.Integral) and not isinstance(dims, bool):
        n = int(dims)
        if not 0 <= n <= min(a.ndim, b.ndim):
            raise ShapeError(f"[{op}] dims={n} needs 0..{min(a.ndim, b.ndim)} for shapes {a.shape} and {b.shape}")
        da, db = list(range(a.ndim - n, a.ndim)), list(range(n))
    elif isinstance(dims, (list, tuple)) and len(dims) == 2:
        da, db = ([d] if isinstance(d, numbers.Integral) else list(d) for d in dims)
        if len(da) != len(db):
            raise ShapeError(f"[{op}] expected two lists of dims of one length, got {dims}")
        da = [axis(d, a.ndim, op) for d in da]
        db = [axis(d, b.ndim, op) for d in db]
    else:
        raise ArgumentTypeError(f"[{op}] dims must be an int or a pair of lists of dims, got {dims!r}")
    if len(set(da)) != len(da) or len(set(db)) != len(db):
        raise ArgumentError(f"[{op}] a dim repeats in dims {dims}")
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise ShapeError(f"[{op}] contracted dims differ in size: dim {i} of {a.shape} and dim {j} of {b.shape}")
    la = list(range(a.ndim))
    lb = [la[da[db.index(j)]] if j in db else a.ndim + j for j in range(b.ndim)]
    keep = [i for i in la if i not in da] + [a.ndim + j for j in range(b.ndim) if j not in db]
    sizes = {**{i: a.shape[i] for i in la}, **{a.ndim + j: b.shape[j] for j in range(b.ndim)}}
    y, labels = _contract(a, la, b, lb, set(keep), sizes)
    return _finish(y, labels, keep)


def _sum_labels(t, labels, drop):
    """``t`` summed over the dims whose labels are in ``drop``; (tensor, remaining labels)."""
    dims = [i for i, lab in enumerate(labels) if lab in drop]
    if not dims:
        return t, labels
    return t.sum(dims), [lab for lab in labels if lab not in drop]


def _contract(a, la, b, lb, keep, sizes):
    """The product of ``a`` and ``b`` (dims labelled ``la``, ``lb``) summed over the labels
    they share that are not in ``keep``, as one batched matmul: a permuted to (batch, a's
    own, summed) and b to (batch, summed, b's own), each reshaped to 3-D. Labels of size 1 in
    one operand are expanded to the other's size first (broadcasting). Returns (tensor,
    labels: batch, then a's own, then b's own)."""
    a, la = _sum_labels(a, la, {lab for lab in la if lab not in lb and lab not in keep})
    b, lb = _sum_labels(b, lb, {lab for lab in lb if lab not in la and lab not in keep})
    a = _expand_to(a, la, sizes, lb)
    b = _expand_to(b, lb, sizes, la)
    batch = [lab for lab in la if lab in lb and lab in keep]
    summed = [lab for lab in la if lab in lb and lab not in keep]
    own_a = [lab for lab in la if lab not in lb]
    own_b = [lab for lab in lb if lab not in la]
    size = lambda labs: int(np.prod([sizes[lab] for lab in labs], dtype=np.int64))  # noqa: E731
    a3 = _permute(a, la, batch + own_a + summed).reshape(size(batch), size(own_a), size(summed))
    b3 = _permute(b, lb, batch + summed + own_b).reshape(size(batch), size(summed), size(own_b))
    y = Matmul()(a3, b3)
    return y.reshape(*[sizes[lab] for lab in batch + own_a + own_b]), batch + own_a + own_b


def _expand_to(t, labels, sizes, other):
    """``t`` with its size-1 dims that ``other`` shares expanded to the label's full size."""
    shape = [sizes[lab] if lab in other else n for lab, n in zip(labels, t.shape)]
    return t if tuple(shape) == tuple(t.shape) else t.expand(*shape)


def _permute(t, labels, order):
    perm = [labels.index(lab) for lab in order]
    return t if perm == list(range(len(perm))) else t.permute(*perm)


def _finish(t, labels, out):
    """``t`` summed over labels not in ``out``, its dims then put in ``out``'s order."""
    t, labels = _sum_labels(t, labels, set(labels) - set(out))
    return _permute(t, labels, out)


def _diagonal_labels(t, labels):
    """``t`` with each label that repeats in ``labels`` taken along its diagonal once (as in
    ``einsum('ii->i', x)``); (tensor, labels without repeats)."""
    from .index import getitem

    while len(set(labels)) != len(labels):
        lab = next(lab for lab in labels if labels.count(lab) > 1)
        dims = [i for i, x in enumerate(labels) if x == lab]  # of one size: einsum checked it
        rest = [i for i in range(t.ndim) if i not in dims]
        t = t.permute(*dims, *rest)
        with t._backend.scope():
            ar = Tensor._wrap(t._backend.xp.arange(t.shape[0]), t._backend)
        t = getitem(t, (ar,) * len(dims))
        labels = [lab] + [labels[i] for i in rest]
    return t, labels


def _label_name(lab):
    return chr(lab) if lab >= 64 else "..."


def einsum(equation, *operands):
    """``torch.einsum``: the sum of products over subscripts, with ``...`` for broadcast
    leading dims, an explicit output after ``->`` or the implicit one (``...`` then the
    subscripts seen once, in alphabetical order). Repeated subscripts in one operand take
    diagonals; the operands are contracted left to right, each pair as one batched matmul
    (permute, reshape; see ``_contract``), so the gradient is made of the same ops."""
    if _autocast.active and _autocast.engaged(*operands):
        return _autocast.lower(einsum, equation, *operands)
    op = "einsum"
    if not isinstance(equation, str):
        raise ArgumentTypeError(f"[{op}] expected the equation string first, got {type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ArgumentError(f"[{op}] expected at least one operand")
    _tensors(op, *operands)
    _same_dtype(op, *operands)
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ArgumentError(f"[{op}] the equation {equation!r} has {len(terms)} operand(s), got {len(operands)} tensor(s)")
    parsed = [_parse_term(term, op, equation) for term in terms]
    ell = 0  # the number of dims '...' stands for: the most any operand gives it
    for (letters, has_ell), t in zip(parsed, operands):
        n = t.ndim - len(letters)
        if n < 0 or (n > 0 and not has_ell):
            raise ShapeError(f"[{op}] subscripts {''.join(map(chr, letters)) or '(none)'}{'...' if has_ell else ''} "
                             f"do not fit an operand of shape {t.shape}")
        ell = max(ell, n)
    labels, sizes = [], {}
    for (letters, has_ell), t, term in zip(parsed, operands, terms):
        n = t.ndim - len(letters)
        pos = term.find("...")
        before = len(_parse_term(term[:pos], op, equation)[0]) if has_ell else len(letters)
        labs = letters[:before] + list(range(ell - n, ell)) + letters[before:]
        for lab in set(labs):
            own = sorted({size for x, size in zip(labs, t.shape) if x == lab})
            if len(own) > 1:
                raise ShapeError(f"[{op}] subscript {_label_name(lab)} repeats in one operand with different sizes {own}")
        for lab, size in zip(labs, t.shape):  # size 1 broadcasts (0 does not)
            seen = sizes.setdefault(lab, size)
            if size != seen and 1 not in (size, seen):
                raise ShapeError(f"[{op}] subscript {_label_name(lab)} has size {size} in one operand and {seen} in another")
            if seen == 1:
                sizes[lab] = size
        labels.append(labs)
    if arrow:
        out_letters, out_ell = _parse_term(rhs, op, equation)
        if len(set(out_letters)) != len(out_letters):
            raise ArgumentError(f"[{op}] a subscript repeats in the output of {equation!r}")
        for lab in out_letters:
            if lab not in sizes:
                raise ArgumentError(f"[{op}] output subscript {chr(lab)} does not appear in the inputs of {equation!r}")
        pos = rhs.find("...")
        before = len(_parse_term(rhs[:pos], op, equation)[0]) if out_ell else len(out_letters)
        out = out_letters[:before] + (list(range(ell)) if out_ell else []) + out_letters[before:]
    else:
        counts = {}
        for labs in labels:
            for lab in labs:
                counts[lab] = counts.get(lab, 0) + 1
        out = list(range(ell)) + sorted(lab for lab, c in counts.items() if lab >= 64 and c == 1)
    ts = []
    for t, labs in zip(operands, labels):
        t, labs = _diagonal_labels(t, labs)
        ts.append((t, labs))
    t, labs = ts[0]
    for i in range(1, len(ts)):
        keep = set(out).union(*[set(lb) for _, lb in ts[i + 1:]])
        t, labs = _contract(t, labs, ts[i][0], ts[i][1], keep, sizes)
    t = _finish(t, labs, out)
    shape = [sizes[lab] for lab in out]
    return t if list(t.shape) == shape else t.expand(*shape)


def _parse_term(term, op, equation):
    """(letters as code points, whether '...' appears) of one subscript term."""
    has_ell = "..." in term
    if term.count("...") > 1:
        raise ArgumentError(f"[{op}] '...' appears more than once in a term of {equation!r}")
    rest = term.replace("...", "")
    for c in rest:
        if not ("a" <= c <= "z" or "A" <= c <= "Z"):
            raise ArgumentError(f"[{op}] subscripts must be letters a-z, A-Z or '...', got {c!r} in {equation!r}")
    return [ord(c) for c in rest], has_ell


def kron(input, other):  # noqa: A002
    """``torch.kron``: the Kronecker product; dims are matched from the right (the shorter
    operand gets leading 1s) and the result's sizes are the products of the two."""
    _tensors("kron", input, other)
    n = max(input.ndim, other.ndim)
    a = input.reshape(*([1] * (n - input.ndim) + list(input.shape)))
    b = other.reshape(*([1] * (n - other.ndim) + list(other.shape)))
    sa = [s for m in a.shape for s in (m, 1)]
    sb = [s for m in b.shape for s in (1, m)]
    y = a.reshape(*sa) * b.reshape(*sb) if n else a * b
    return y.reshape(*[p * q for p, q in zip(a.shape, b.shape)]) if n else y


def cross(input, other, dim=None):  # noqa: A002
    """``torch.cross``: the 3-vector cross product along ``dim`` (the first dim of size 3
    when None, as torch.cross does; ``linalg_cross`` defaults to the last), inputs
    broadcast together, of one dtype (under autocast: of the wider dtype)."""
    if _autocast.active and _autocast.engaged(input, other):
        return _autocast.promote(cross, input, other, dim)
    from .index import getitem
    from .shape import stack

    op = "cross"
    _tensors(op, input, other)
    _same_dtype(op, input, other)
    if input.ndim != other.ndim:
        raise ShapeError(f"[{op}] inputs must have the same number of dims, got shapes {input.shape} and {other.shape}")
    try:
        shape = np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
    except ValueError:
        raise ShapeError(f"[{op}] shapes {input.shape} and {other.shape} do not broadcast") from None
    if dim is None:
        dim = next((i for i, n in enumerate(shape) if n == 3), None)
        if dim is None:
            raise ShapeError(f"[{op}] no dim of size 3 in shape {tuple(shape)}")
    d = axis(dim, len(shape), op)
    if shape[d] != 3:
        raise ShapeError(f"[{op}] dim {d} must have size 3, got shape {tuple(shape)}")
    a, b = input.expand(*shape), other.expand(*shape)
    pre = (slice(None),) * d
    ax = [getitem(a, pre + (i,)) for i in range(3)]
    bx = [getitem(b, pre + (i,)) for i in range(3)]
    return stack([ax[1] * bx[2] - ax[2] * bx[1], ax[2] * bx[0] - ax[0] * bx[2], ax[0] * bx[1] - ax[1] * bx[0]], d)


def linalg_cross(input, other, *, dim=-1):  # noqa: A002
    """``torch.linalg.cross``: ``cross`` along ``dim`` (the last by default)."""
    if _autocast.active and _autocast.engaged(input, other):
        return _autocast.promote(linalg_cross, input, other, dim=dim)
    return cross(input, other, dim)
