"""Elementwise functions: arithmetic (tensor or scalar operands), math, comparisons."""

from .. import dtypes as _dtypes
from ..amp.autocast import gate as _autocast
from ..dtypes import is_floating
from ..errors import ArgumentError, ArgumentTypeError, DTypeError
from ..ops import elementwise as E
from ..tensor import Tensor
from ._util import (
    as_tensor,
    broadcast_error,
    check_float,
    check_integral,
    check_not_bool,
    check_tensor,
    check_values,
    floating,
    result_type,
    scalar,
    weak,
)

_TRUE_DIVISION = ("div",)


def _op_dtype(name, *operands):
    """PyTorch's dtype for ``name`` of ``operands``: their ``result_type``, but the default
    float dtype for a true division of integers."""
    dt = result_type(*operands)
    if name in _TRUE_DIVISION and not is_floating(dt):
        return _dtypes.default_float
    return dt


def _binary(name, op_cls, a, b, scalar_right, scalar_left):
    """Dispatch ``a <op> b``: two tensors, or a tensor and a Python scalar (kept weak), in
    PyTorch's result dtype (``_op_dtype``)."""
    if isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            c = scalar(b)
            if c is not None:
                a = _with_scalar(name, a, c)
                return scalar_right(weak(a.dtype, c))(a)
            b = as_tensor(b, a, name)
    else:
        check_tensor(b, name)
        c = scalar(a)
        if c is not None:
            b = _with_scalar(name, b, c)
            return scalar_left(weak(b.dtype, c))(b)
        a = as_tensor(a, b, name)
    if a.dtype != b.dtype or name in _TRUE_DIVISION:
        dt = _op_dtype(name, a, b)
        a, b = a.to(dt), b.to(dt)
    try:
        return op_cls()(a, b)
    except ValueError as exc:
        raise broadcast_error(name, a, b) or exc from None


def _with_scalar(name, t, c):
    """The tensor side of ``t <op> c`` in the op's dtype (a float tensor keeps its dtype
    with any scalar, so it skips the promotion)."""
    return t if is_floating(t.dtype) else t.to(_op_dtype(name, t, c))


def _is_bool(v):
    return v.dtype.kind == "b" if isinstance(v, Tensor) else isinstance(scalar(v), bool)


def _refuse_bool(name, a, b):
    """PyTorch refuses these ops in bool (``//``, ``%``, ``**`` of two bool operands)."""
    if _op_dtype(name, a, b).kind == "b":
        raise DTypeError(f"[{name}] expected numeric operands, got bool")


def add(a, b):
    """a + b with broadcasting."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.array.dtype is b.array.dtype:
        try:
            return E.Add()(a, b)
        except ValueError as exc:
            raise broadcast_error("add", a, b) or exc from None
    return _binary("add", E.Add, a, b, E.AddScalar, E.AddScalar)


def sub(a, b):
    """a - b with broadcasting; refused for bool operands, as in PyTorch."""
    if _is_bool(a) or _is_bool(b):
        raise DTypeError("[sub] expected numeric operands, got bool; to invert a mask use ~ or logical_not")
    return _binary("sub", E.Sub, a, b, lambda c: E.AddScalar(-c), E.RSubScalar)


def mul(a, b):
    """a * b with broadcasting."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.array.dtype is b.array.dtype:
        try:
            return E.Mul()(a, b)
        except ValueError as exc:
            raise broadcast_error("mul", a, b) or exc from None
    return _binary("mul", E.Mul, a, b, E.MulScalar, E.MulScalar)


def div(a, b, *, rounding_mode=None):
    """a / b. ``rounding_mode``: None (true division: float32 for integers), 'trunc' (toward
    zero) or 'floor' (toward -inf); the rounded forms keep an integer dtype, have gradient 0
    and refuse an integer division by zero, as in PyTorch."""
    if rounding_mode is not None:
        return _rounded_div(a, b, rounding_mode)
    return _binary("div", E.Div, a, b, E.DivScalar, E.RDivScalar)


def pow(a, b):  # noqa: A001 - the PyTorch name
    """a ** b; either side may be a scalar. As in PyTorch, an integer tensor to a float
    scalar power is float32, and integers to negative integer scalar powers are refused."""
    if _autocast.active and _autocast.engaged(a, b):
        return _autocast.fp32(pow, a, b)
    c = scalar(b)
    if isinstance(a, Tensor) and isinstance(c, int) and c < 0 and _op_dtype("pow", a, c).kind in "biu":
        raise ArgumentError(f"[pow] expected a non-negative exponent for an integer tensor, got {c}; use a float")
    if isinstance(b, Tensor):
        _refuse_bool("pow", a, b)
    return _binary("pow", E.Pow, a, b, E.PowScalar, E.RPowScalar)


def add_scaled(a, b, alpha):
    """a + alpha * b (``Tensor.add_(b, alpha=...)``)."""
    return add(a, mul(b, alpha))


def neg(x):
    return E.Neg()(check_not_bool(x, "neg", "; to invert a mask use ~ or logical_not"))


def exp(x):
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(exp, x)
    return E.Exp()(floating(x))


def log(x):
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(log, x)
    return E.Log()(floating(x))


def log10(x):
    """Base-10 logarithm (float32 for integer input, as PyTorch); log10(0) is -inf."""
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(log10, x)
    return E.Log10()(floating(x))


def log2(x):
    """Base-2 logarithm (float32 for integer input, as PyTorch); log2(0) is -inf."""
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(log2, x)
    return E.Log2()(floating(x))


def log1p(x):
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(log1p, x)
    return E.Log1p()(floating(x))


def expm1(x):
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(expm1, x)
    return E.Expm1()(floating(x))


def sqrt(x):
    return E.Sqrt()(floating(x))


def rsqrt(x):
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(rsqrt, x)
    return 1.0 / sqrt(x)


def abs(x):  # noqa: A001
    return E.Abs()(check_not_bool(x, "abs"))


def sin(x):
    return E.Sin()(floating(x))


def cos(x):
    return E.Cos()(floating(x))


def reciprocal(x):
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(reciprocal, x)
    return E.RDivScalar(1.0)(floating(x))


def square(x):
    """x * x; int64 for a bool tensor (as pow(x, 2)), as in PyTorch."""
    if check_tensor(x, "square").dtype.kind == "b":
        return pow(x, 2)
    return E.PowScalar(2)(x)


def sign(x):
    """-1, 0 or 1 (a bool tensor is its own sign); gradient 0."""
    check_tensor(x, "sign")
    return cast(x, x.dtype) if x.dtype.kind == "b" else E.ZeroGrad("sign")(x)


def _rounding(fn, x):
    """floor, ceil, round, trunc: a copy of an integer tensor (as in PyTorch, whatever the
    backend's rounding functions do with integers), refused for bool."""
    check_not_bool(check_tensor(x, fn), fn)
    return E.ZeroGrad(fn)(x) if is_floating(x.dtype) else cast(x, x.dtype)


def floor(x):
    return _rounding("floor", x)


def ceil(x):
    return _rounding("ceil", x)


def round(x):  # noqa: A001
    """Round half to even (as NumPy and PyTorch do); gradient 0."""
    return _rounding("round", x)


def trunc(x):
    return _rounding("trunc", x)


def floor_divide(a, b):
    """a // b (floor division); gradient 0. An integer division by zero is refused, as in
    PyTorch."""
    _refuse_bool("floor_divide", a, b)
    if _op_dtype("floor_divide", a, b).kind in "iu":
        _check_divisor("floor_divide", b)
    return _binary("floor_divide", lambda: E.ZeroGrad("floor_divide"), a, b,
                   lambda c: E.ZeroGradScalar("floor_divide", c), lambda c: E.ZeroGradScalar("floor_divide", c, True))


def remainder(a, b):
    """a % b with the sign of b (Python's and PyTorch's rule); a - b * floor(a / b)."""
    _refuse_bool("remainder", a, b)
    if _op_dtype("remainder", a, b).kind in "iu":
        _check_divisor("remainder", b)
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return a - b * floor_divide(a, b)
    if isinstance(a, Tensor):
        return a - floor_divide(a, b) * b
    return a - b * floor_divide(a, b)


def maximum(a, b):
    """Elementwise max; a tie splits the gradient evenly between a and b."""
    return _extremum("maximum", E.Maximum, a, b)


def minimum(a, b):
    return _extremum("minimum", E.Minimum, a, b)


def _extremum(name, op_cls, a, b):
    like = a if isinstance(a, Tensor) else check_tensor(b, name)
    a, b = _in_result_type(like, name, a, b)
    try:
        return op_cls()(a, b)
    except ValueError as exc:
        raise broadcast_error(name, a, b) or exc from None


def _in_result_type(like, op, *vs):
    """``vs`` (tensors, scalars, arrays or lists) as tensors of their ``result_type`` on
    ``like``'s device; a scalar becomes a 0-d constant."""
    vs = [v if isinstance(v, Tensor) or scalar(v) is not None else as_tensor(v, like, op) for v in vs]
    dt = result_type(*vs)
    out = []
    for v in vs:
        if isinstance(v, Tensor):
            out.append(v.to(dt))
        else:
            with like._backend.scope():
                out.append(Tensor._wrap(like._backend.asarray(scalar(v), dtype=dt), like._backend))
    return out


def clip(x, min=None, max=None):  # noqa: A002 - PyTorch's argument names
    """clamp(x, min, max); either bound may be None. Gradient 1 where min <= x <= max. The
    result has PyTorch's promoted dtype (an integer tensor with a float bound gives float32)."""
    check_tensor(x, "clip")
    if min is None and max is None:
        raise ArgumentError("[clip] at least one of min and max must be given")
    dt = result_type(x, min, max)
    one_tensor_bound = (min is None or max is None) and isinstance(min if max is None else max, Tensor)
    if dt.kind == "b" and not one_tensor_bound:  # PyTorch's clamp of bools by one bool tensor is its max/min
        raise DTypeError("[clip] expected a numeric tensor or bounds, got bool")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # tensor bounds (broadcast): the gradient goes where PyTorch sends it (see ClampTensor)
        bounds = [v for v in (min, max) if v is not None]
        xs = _in_result_type(x, "clip", x, *bounds)
        try:
            return E.ClampTensor(min is not None, max is not None)(*xs)
        except ValueError as exc:
            raise broadcast_error("clip", *xs) or exc from None
    return E.Clip(min, max)(x.to(dt))


clamp = clip


def where(cond, a, b):
    """a where cond else b (broadcast), in the promoted dtype of a and b (PyTorch's
    ``result_type``); cond must be a bool tensor; no gradient to cond."""
    like = next((t for t in (cond, a, b) if isinstance(t, Tensor)), None)
    if like is None:
        raise ArgumentTypeError("[where] at least one argument must be a tensor")
    if not isinstance(cond, Tensor):
        cond = as_tensor(cond, like, "where")
    if cond.dtype.kind != "b":
        raise DTypeError(f"[where] expected a bool condition, got {cond.dtype}")
    a, b = _in_result_type(like, "where", a, b)
    try:
        return E.Where()(cond, a, b)
    except ValueError as exc:
        raise broadcast_error("where", cond, a, b) or exc from None


def cast(x, dtype):
    return E.Cast(dtype)(x)


def _compare(fn, reflected_fn, a, b):
    """A comparison, made in the operands' ``result_type`` as in PyTorch (int64 16777217
    equals float32 16777216.0 there, as both become float32); the result is bool."""
    if isinstance(b, Tensor):
        if isinstance(a, Tensor):
            if a.dtype != b.dtype:
                dt = result_type(a, b)
                a, b = a.to(dt), b.to(dt)
            try:
                return E.Compare(fn)(a, b)
            except ValueError as exc:
                raise broadcast_error(fn, a, b) or exc from None
        a, b, fn = b, a, reflected_fn
    c = scalar(b)
    if c is not None:
        if isinstance(c, float) and not is_floating(a.dtype):
            a = a.to(result_type(a, c))
        return E.CompareScalar(fn, weak(a.dtype, c))(a)
    return _compare(fn, reflected_fn, a, as_tensor(b, a, fn))


def eq(a, b):
    return _compare("equal", "equal", a, b)


def ne(a, b):
    return _compare("not_equal", "not_equal", a, b)


def lt(a, b):
    return _compare("less", "greater", a, b)


def le(a, b):
    return _compare("less_equal", "greater_equal", a, b)


def gt(a, b):
    return _compare("greater", "less", a, b)


def ge(a, b):
    return _compare("greater_equal", "less_equal", a, b)


def logical_and(a, b):
    return _compare("logical_and", "logical_and", a, b)


def logical_or(a, b):
    return _compare("logical_or", "logical_or", a, b)


def logical_xor(a, b):
    return _compare("logical_xor", "logical_xor", a, b)


def logical_not(x):
    return E.Compare("logical_not")(x)


def _bitwise(name, fn, a, b):
    """A bitwise or shift op: bit by bit on integer tensors, logical on bool tensors, refused
    on floats, in PyTorch's result dtype (bool & 3 is int64). Shifts of bools are refused."""
    like = a if isinstance(a, Tensor) else check_tensor(b, name)
    a, b = (v if isinstance(v, Tensor) or scalar(v) is not None else as_tensor(v, like, name) for v in (a, b))
    dt = result_type(a, b)
    if is_floating(dt) or (dt.kind == "b" and "shift" in fn):
        raise DTypeError(f"[{name}] expected integer (or, but for shifts, bool) operands, got {_dtype_names(a, b)}")
    return _binary(name, lambda: E.Bitwise(fn), a, b, lambda c: E.BitwiseScalar(fn, c),
                   lambda c: E.BitwiseScalar(fn, c, True))


def _dtype_names(*vs):
    return " and ".join(str(v.dtype) if isinstance(v, Tensor) else type(v).__name__ for v in vs)


def bitwise_and(a, b):
    """a & b: bitwise on integer tensors, logical on bool tensors."""
    return _bitwise("bitwise_and", "bitwise_and", a, b)


def bitwise_or(a, b):
    return _bitwise("bitwise_or", "bitwise_or", a, b)


def bitwise_xor(a, b):
    return _bitwise("bitwise_xor", "bitwise_xor", a, b)


def bitwise_left_shift(a, b):
    """a << b (0 once every bit is shifted out)."""
    return _bitwise("bitwise_left_shift", "left_shift", a, b)


def bitwise_right_shift(a, b):
    """a >> b, arithmetic (the sign bit is copied in) for signed integers."""
    return _bitwise("bitwise_right_shift", "right_shift", a, b)


def bitwise_not(x):
    """~x: bitwise on integer tensors, logical on bool tensors."""
    return E.Bitwise("invert")(check_integral(check_tensor(x, "bitwise_not"), "bitwise_not"))


def isnan(x):
    return E.Compare("isnan")(x)


def isinf(x):
    return E.Compare("isinf")(x)


def isfinite(x):
    return E.Compare("isfinite")(x)


def zeros_like(x):
    with x._backend.scope():
        return Tensor._wrap(x._backend.xp.zeros(x.shape, dtype=x.dtype), x._backend)


def full_like_op(x, value):
    """A constant with x's shape, dtype and device (``fill_`` in a graph)."""
    with x._backend.scope():
        return Tensor._wrap(x._backend.xp.full(x.shape, value, dtype=x.dtype), x._backend)


def copy_from(x, src):
    """src cast to x's dtype and broadcast to x's shape (``copy_`` in a graph)."""
    from .shape import broadcast_to

    s = src if src.dtype == x.dtype else cast(src, x.dtype)
    # s * 1: a new node even when src already fits, so the written tensor gets its own
    # graph entry that routes the gradient to src
    return broadcast_to(s, x.shape) if s.shape != x.shape else s * 1



# -- the breadth issue's math (issue 17) -----------------------------------------------------
def _float_unary(op_cls, name, x):
    """A float function of one tensor: integer and bool tensors give the default float
    dtype, as in PyTorch."""
    return op_cls()(floating(check_tensor(x, name)))


def tan(x):
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(tan, x)
    return _float_unary(E.Tan, "tan", x)


def asin(x):
    """arcsin; NaN outside [-1, 1], as in PyTorch."""
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(asin, x)
    return _float_unary(E.Asin, "asin", x)


def acos(x):
    """arccos; NaN outside [-1, 1]."""
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(acos, x)
    return _float_unary(E.Acos, "acos", x)


def atan(x):
    return _float_unary(E.Atan, "atan", x)


def sinh(x):
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(sinh, x)
    return _float_unary(E.Sinh, "sinh", x)


def cosh(x):
    if _autocast.active and _autocast.engaged(x):
        return _autocast.fp32(cosh, x)
    return _float_unary(E.Cosh, "cosh", x)


def asinh(x):
    return _float_unary(E.Asinh, "asinh", x)


def acosh(x):
    """arccosh; NaN below 1."""
    return _float_unary(E.Acosh, "acosh", x)


def atanh(x):
    """arctanh; +-inf at +-1, NaN outside [-1, 1]."""
    return _float_unary(E.Atanh, "atanh", x)


def exp2(x):
    """2 ** x (float32 for integer or bool input, as PyTorch)."""
    return _float_unary(E.Exp2, "exp2", x)


arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh  # PyTorch's aliases


def frac(x):
    """x - trunc(x) (sign of x); floating point tensors only, as in PyTorch; gradient 1."""
    check_float(x, "frac")
    return x - trunc(x)


def _pair(name, a, b, *, scalars="", to_float=False, float_only=False):
    """``a`` and ``b`` as tensors of their PyTorch result dtype on one device, for a binary
    function. ``scalars`` names the sides ("a", "b") that may be Python numbers (0-d
    constants then); ``to_float`` makes an integer or bool result the default float dtype;
    ``float_only`` refuses it instead (as PyTorch has no integer kernel)."""
    for side, v in (("a", a), ("b", b)):
        if not isinstance(v, Tensor) and not (side in scalars and scalar(v) is not None):
            what = "a Tensor or a number" if side in scalars else "a Tensor"
            arg = "input" if side == "a" else "other"
            raise ArgumentTypeError(f"[{name}] expected {arg} to be {what}, got {type(v).__name__}")
    like = a if isinstance(a, Tensor) else b
    if not isinstance(like, Tensor):
        raise ArgumentTypeError(f"[{name}] expected at least one Tensor, got two numbers")
    dt = result_type(a, b)
    if not is_floating(dt):
        if float_only:
            raise DTypeError(f"[{name}] expected floating point operands, got {_dtype_names(a, b)}; call .float() first")
        if to_float:
            dt = _dtypes.default_float
    a, b = _in_result_type(like, name, a, b)
    return a.to(dt), b.to(dt)


def _apply2(name, op, a, b):
    try:
        return op(a, b)
    except ValueError as exc:
        raise broadcast_error(name, a, b) or exc from None


def atan2(input, other):  # noqa: A002 - PyTorch's argument names
    """The angle of (other, input) in (-pi, pi]; float32 for integer tensors, as PyTorch."""
    return _apply2("atan2", E.Atan2(), *_pair("atan2", input, other, to_float=True))


arctan2 = atan2


def hypot(input, other):  # noqa: A002
    """sqrt(input^2 + other^2) without overflow; floating point tensors only, as PyTorch."""
    return _apply2("hypot", E.Hypot(), *_pair("hypot", input, other, float_only=True))


def logaddexp(input, other):  # noqa: A002
    """log(exp(input) + exp(other)) without overflow; floating point tensors only."""
    return _apply2("logaddexp", E.LogAddExp(), *_pair("logaddexp", input, other, float_only=True))


def copysign(input, other):  # noqa: A002
    """|input| with the sign of other (a tensor or a number; -0.0 counts as negative), float
    (float32 for integers, as PyTorch). Gradient to input only: sign(input) sign(other)."""
    return _apply2("copysign", E.CopySign(), *_pair("copysign", input, other, scalars="b", to_float=True))


def xlogy(input, other):  # noqa: A002
    """input * log(other), 0 where input == 0 (unless other is NaN), as PyTorch's xlogy;
    either side may be a number; float32 for integer or bool operands."""
    return _apply2("xlogy", E.XLogY(), *_pair("xlogy", input, other, scalars="ab", to_float=True))


def _check_divisor(name, b):
    """PyTorch refuses an integer division by zero (floor, trunc, fmod, remainder): raise
    an ArgumentError where the integer divisor ``b`` (a tensor or a number) holds a 0. On a
    GPU the check is raised at the next read of a result."""
    if isinstance(b, Tensor):
        if b.dtype.kind in "iu":
            check_values(b, lambda v: v == 0, f"[{name}] integer division by zero (a 0 divisor at flat index "
                         "{position}); use a float tensor for inf/NaN results", ArgumentError)
    elif isinstance(scalar(b), int) and not isinstance(scalar(b), bool) and scalar(b) == 0:
        raise ArgumentError(f"[{name}] integer division by zero: the divisor is 0")


def fmod(input, other):  # noqa: A002
    """C's fmod: input - trunc(input / other) * other, with the sign of input (remainder has
    the sign of other); other is a tensor or a number. Integer by integer 0 is refused, as
    in PyTorch. Gradient: 1 to input, -trunc(input / other) to other."""
    a, b = _pair("fmod", input, other, scalars="b")
    if a.dtype.kind == "b":
        raise DTypeError("[fmod] expected numeric operands, got bool")
    if a.dtype.kind in "iu":
        _check_divisor("fmod", other)
    return _apply2("fmod", E.Fmod(), a, b)


def _rounded_div(input, other, rounding_mode):  # noqa: A002
    if rounding_mode not in ("trunc", "floor"):
        raise ArgumentError(f"[div] expected rounding_mode to be one of None, 'trunc' or 'floor', got {rounding_mode!r}")
    if rounding_mode == "floor":
        return floor_divide(input, other)
    a, b = _pair("div", input, other, scalars="ab")
    if a.dtype.kind == "b":
        raise DTypeError("[div] expected numeric operands for rounding_mode='trunc', got bool")
    if a.dtype.kind in "iu":
        _check_divisor("div", other)
    return _apply2("div", E.TruncDiv(), a, b)


divide = true_divide = div


def isneginf(x):
    """x == -inf (all False for integer and bool tensors)."""
    check_tensor(x, "isneginf")
    if not is_floating(x.dtype):
        return isinf(x)
    return isinf(x) & (x < 0)


def isposinf(x):
    """x == +inf (all False for integer and bool tensors)."""
    check_tensor(x, "isposinf")
    if not is_floating(x.dtype):
        return isinf(x)
    return isinf(x) & (x > 0)


def clamp_min(x, min):  # noqa: A002
    """clamp(x, min=min)."""
    return clip(x, min=min)


def clamp_max(x, max):  # noqa: A002
    """clamp(x, max=max)."""
    return clip(x, max=max)


def lerp(input, end, weight):  # noqa: A002
    """input + weight * (end - input); ``weight`` a number or a tensor (broadcast). As in
    PyTorch: floating point only, end (and a weight tensor with dims) of input's dtype."""
    check_float(input, "lerp")
    check_tensor(end, "lerp")
    if end.dtype != input.dtype:
        raise DTypeError(f"[lerp] expected end of dtype {input.dtype} (input's), got {end.dtype}")
    if isinstance(weight, Tensor):
        if weight.dtype != input.dtype:
            if weight.ndim:
                raise DTypeError(f"[lerp] expected weight of dtype {input.dtype} (input's), got {weight.dtype}")
            weight = weight.to(input.dtype)
    elif scalar(weight) is None or isinstance(weight, bool):
        raise ArgumentTypeError(f"[lerp] expected weight to be a number or a Tensor, got {type(weight).__name__}")
    ts = [t for t in (input, end, weight) if isinstance(t, Tensor)]
    err = broadcast_error("lerp", *ts)
    if err is not None:
        raise err
    return input + weight * (end - input)


def is_floating_point(x):
    """True for a float16/32/64 tensor."""
    return is_floating(check_tensor(x, "is_floating_point").dtype)


def numel(x):
    """The number of elements of ``x``."""
    return check_tensor(x, "numel").numel()
