"""Error types. Each one also subclasses the builtin a Python user would catch, and
RuntimeError where PyTorch raises RuntimeError for the same mistake, so that code written
for PyTorch (``except RuntimeError``) catches it:

============================  =======================  ==============================================
gpugrad                       builtins                 PyTorch for the same mistake
============================  =======================  ==============================================
ArgumentError                 ValueError, RuntimeError RuntimeError from the ops (randint low >= high,
                                                       arange step 0, split size 0, repeated permute
                                                       dims); ValueError from nn/optim/data arguments
                                                       (lr < 0, dropout p, reduction name, batch_size)
ArgumentTypeError             TypeError                TypeError (argument parsing, len() of a 0-d
                                                       tensor, a grad that is not a Tensor)
ShapeError                    ValueError, RuntimeError RuntimeError (broadcasting, matmul, reshape, cat,
                                                       item/bool of many elements, load_state_dict
                                                       size mismatch); ValueError from a few losses
DTypeError                    TypeError, RuntimeError  RuntimeError (matmul/linear dtypes differ,
                                                       requires_grad on an int tensor, an in-place
                                                       result that cannot be cast, mean of ints)
DeviceError                   RuntimeError             RuntimeError (mixed devices, bad device name)
BackendUnavailableError       RuntimeError             RuntimeError for a missing cuda:N (without CUDA
                                                       PyTorch raises AssertionError)
GpugradIndexError             IndexError               IndexError (index or dim out of range)
AutogradError and subclasses  RuntimeError             RuntimeError (in-place on a leaf, backward
                                                       through a freed graph or without grad, saved
                                                       tensor modified, anomaly, gradcheck)
============================  =======================  ==============================================

Outside this module: ``serialization.CheckpointError`` is a ValueError (PyTorch raises
RuntimeError or UnpicklingError for a damaged file) and its ``CheckpointNotFoundError`` also a
FileNotFoundError, as ``torch.load`` of a missing path; ``data.datasets.DataError`` is a
ValueError.

Messages start with the op (or API) name in brackets, then say what was expected and
what came, with every offending shape, dtype or device.
"""


class GpugradError(Exception):
    """Base class of every error gpugrad raises on purpose."""


class ArgumentError(GpugradError, ValueError, RuntimeError):
    """An argument with a value the function cannot take (a negative size, an unknown mode)."""


class ArgumentTypeError(GpugradError, TypeError):
    """An argument of the wrong type (a list where a tensor is needed, a float dim)."""


class ShapeError(GpugradError, ValueError, RuntimeError):
    """Shapes that do not fit together (broadcasting, matmul, reshape, ...)."""


class DTypeError(GpugradError, TypeError, RuntimeError):
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

