"""Error types. Each one also subclasses the builtin a Python user would catch.

Messages start with the op (or API) name in brackets, then say what was expected and
what came, with every offending shape, dtype or device.
"""


class GpugradError(Exception):
    """Base class of every error gpugrad raises on purpose."""


class ArgumentError(GpugradError, ValueError):
    """An argument with a value the function cannot take (a negative size, an unknown mode)."""


class ArgumentTypeError(GpugradError, TypeError):
    """An argument of the wrong type (a list where a tensor is needed, a float dim)."""


class ShapeError(GpugradError, ValueError):
    """Shapes that do not fit together (broadcasting, matmul, reshape, ...)."""


class DTypeError(GpugradError, TypeError):
    """A dtype an op cannot take, or a cast that would lose information."""


class DeviceError(GpugradError, RuntimeError):
    """Tensors on different devices in one op, or an unknown device name."""


class BackendUnavailableError(DeviceError):
    """A device was asked for that this machine cannot provide (no CuPy, driver or GPU)."""


class GpugradIndexError(GpugradError, IndexError):
    """An index or dim out of range."""


class AutogradError(GpugradError, RuntimeError):
    """Misuse of the autograd engine: freed graphs, bad gradients, leaf in-place ops."""


class InplaceError(AutogradError):
    """A tensor saved for backward was modified in place after it was saved."""


class AnomalyError(AutogradError):
    """Anomaly mode found NaN or Inf; the message says which op made it and where."""


class GradcheckError(AutogradError):
    """gradcheck/gradgradcheck found analytic and numeric derivatives that disagree."""

