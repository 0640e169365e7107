"""Random streams: ``gpugrad.Generator`` (PyTorch's ``torch.Generator``) and the CPU's default
one, ``gpugrad.default_generator``.

Every function that draws (``rand``, ``randn``, ``randint``, ``randperm``, their ``*_like``,
``Tensor.uniform_``/``normal_``, ``nn.init``, dropout, the shuffle of ``DataLoader``) takes
``generator=``: a Generator of the tensor's device (the CPU for DataLoader), whose stream no
other code advances. Two threads training two models, each with its own Generators, get the
same numbers as when run one after the other. Without
one, draws come from the device's default stream, which every thread shares (it is safe
to draw from it concurrently, but the order of the threads' draws decides who gets which
numbers).
"""

import os

from .backend import Device, get_backend
from .backend.cpu import DEFAULT_SEED, default_stream
from .errors import ArgumentError, ArgumentTypeError, DeviceError


class Generator:
    """A random stream of its own on one device (``"cpu"``, ``"cuda"``, ``"cuda:N"``).

    PyTorch's API: ``manual_seed(seed)`` (returns the generator), ``seed()``,
    ``initial_seed()``, ``get_state()``/``set_state(state)``, ``device``. The state is a
    JSON-friendly dict rather than PyTorch's uint8 tensor, and ``set_state`` restores the
    stream, not ``initial_seed()``. A new Generator starts from the same seed as the default
    streams (0x6A09E667). On the CPU the stream is NumPy's PCG64; on CUDA, cuRAND's Philox
    with the state ``{"seed", "draws"}`` (see ``gpugrad.backend.cuda.CudaStream``). Copies and
    pickles carry the state.
    """

    __slots__ = ("_device", "_stream", "_initial_seed")

    def __init__(self, device="cpu"):
        backend = get_backend(Device(device))
        self._device = backend.device
        self._stream = backend.new_stream(DEFAULT_SEED)
        self._initial_seed = DEFAULT_SEED

    @classmethod
    def _on(cls, device, stream):
        g = cls.__new__(cls)
        g._device, g._stream, g._initial_seed = device, stream, DEFAULT_SEED
        return g

    @property
    def device(self):
        return self._device

    def manual_seed(self, seed):
        """Restart the stream from ``seed`` (an integer in [0, 2**64)); returns the generator."""
        seed = _seed_value(seed)
        self._stream.seed(seed)
        self._initial_seed = seed
        return self

    def seed(self):
        """Restart the stream from a seed drawn from the OS's entropy, and return that seed."""
        return self.manual_seed(int.from_bytes(os.urandom(8), "little"))._initial_seed

    def initial_seed(self):
        """The seed of the last ``manual_seed``/``seed`` (0x6A09E667 before any)."""
        return self._initial_seed

    def get_state(self):
        """The stream's position, for ``set_state`` (and checkpoints: a JSON-friendly dict)."""
        return self._stream.get_state()

    def set_state(self, state):
        try:
            self._stream.set_state(state)
        except (KeyError, TypeError, ValueError) as exc:
            raise ArgumentError(
                f"[Generator.set_state] expected a state from get_state() of a {self._device} generator, "
                f"got {state!r} ({type(exc).__name__}: {exc})"
            ) from None
        return self

    def __reduce__(self):
        return _rebuild, (str(self._device), self._initial_seed, self.get_state())

    def __repr__(self):
        return f"Generator(device='{self._device}')"


def _rebuild(device, initial_seed, state):
    g = Generator(device).set_state(state)
    g._initial_seed = initial_seed
    return g


def _seed_value(seed):
    try:
        value = int(seed)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"[manual_seed] expected an integer seed, got {type(seed).__name__}") from None
    if not 0 <= value < 1 << 64:
        raise ArgumentError(f"[manual_seed] expected a seed in [0, 2**64), got {seed}")
    return value


def stream_of(generator, backend, op):
    """The stream ``op`` draws from on ``backend``: ``generator``'s, or None for the
    device's default stream when no generator is given."""
    if generator is None:
        return None
    if not isinstance(generator, Generator):
        raise ArgumentTypeError(f"[{op}] expected generator to be a gpugrad.Generator, got {type(generator).__name__}")
    if generator._device != backend.device:
        raise DeviceError(f"[{op}] expected a generator on {backend.device}, got one on {generator._device}")
    return generator._stream


default_generator = Generator._on(Device("cpu"), default_stream)
