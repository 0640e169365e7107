"""Grad mode and anomaly mode: thread-local switches read once per op."""

import functools
import threading


class _State(threading.local):
    grad_enabled = True
    anomaly = False
    inference = False  # inside inference_mode(True)

    def __init__(self):
        # in anomaly mode, nn.Module.__call__ keeps here the modules being called, outermost
        # first, so that an anomaly can name the layer it comes from
        self.modules = []


state = _State()


def module_context(modules):
    """Where an op ran, for anomaly messages: ``" in module encoder.fc1 (Linear) of Net"``
    for the innermost of ``modules`` (the modules being called, outermost first), by its
    qualified name in the outermost one as ``named_modules()`` gives it; ``""`` outside any
    module. Computed only when an anomaly is reported."""
    if not modules:
        return ""
    root, inner = modules[0], modules[-1]
    if inner is root:
        return f" in the outermost module ({type(root).__name__})"
    parts = []
    for parent, child in zip(modules, modules[1:]):
        name = _name_in(parent, child)
        if name is None:  # called by a module it is not registered in: a layer shared with
            name = _name_in(root, child)  # another part of the model goes by its own name there
            if name is not None:
                parts = []
        parts.append("?" if name is None else name)
    return f" in module {'.'.join(parts)} ({type(inner).__name__}) of {type(root).__name__}"


def _name_in(parent, child):
    return next((name for name, m in parent.named_modules() if m is child and name), None)


def is_grad_enabled():
    return state.grad_enabled


def is_anomaly_enabled():
    return state.anomaly


class _Switch:
    """A context manager that is also a decorator (``@no_grad`` and ``@no_grad()``)."""

    _attr = ""
    _value = False

    def __new__(cls, func=None):
        self = super().__new__(cls)
        if func is not None and callable(func):
            return self(func)
        return self

    def __init__(self, func=None):
        self._prev = []

    def __enter__(self):
        self._prev.append(getattr(state, self._attr))
        setattr(state, self._attr, self._value)
        return self

    def __exit__(self, *exc):
        setattr(state, self._attr, self._prev.pop())
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return func(*args, **kwargs)

        return wrapper


class no_grad(_Switch):
    """Ops run inside record no graph: the results have ``requires_grad=False``."""

    _attr, _value = "grad_enabled", False


class enable_grad(_Switch):
    """Turn graph recording back on inside a ``no_grad`` region."""

    _attr, _value = "grad_enabled", True


class set_grad_enabled:
    """``set_grad_enabled(False)`` as a plain call or as a context manager (which restores
    the previous mode on exit), like PyTorch's."""

    def __init__(self, mode):
        self._prev = state.grad_enabled
        state.grad_enabled = bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        state.grad_enabled = self._prev
        return False


class detect_anomaly(_Switch):
    """Anomaly mode: each op remembers where it was created and every forward output and
    backward gradient is checked for NaN/Inf; the first op that makes one raises
    :class:`~gpugrad.errors.AnomalyError` naming the op and the user code that created it.
    Slow: for debugging only."""

    _attr, _value = "anomaly", True


def set_detect_anomaly(mode):
    state.anomaly = bool(mode)


class inference_mode:
    """``inference_mode()`` (or ``inference_mode(True)``): as ``no_grad``, ops record no
    graph; ``inference_mode(False)`` turns recording on, as PyTorch's does. A context
    manager and a decorator (``@inference_mode`` and ``@inference_mode()``); restores the
    previous mode on exit. gpugrad has no separate "inference tensors": results made inside
    are ordinary tensors that do not require grad."""

    def __new__(cls, mode=True):
        self = super().__new__(cls)
        if callable(mode):  # bare @inference_mode
            self._mode = True
            return self(mode)
        return self

    def __init__(self, mode=True):
        if not callable(mode):
            if not isinstance(mode, bool):
                from ..errors import ArgumentTypeError

                raise ArgumentTypeError(f"[inference_mode] expected mode to be a bool, got {type(mode).__name__}")
            self._mode = mode
        self._prev = []

    def __enter__(self):
        self._prev.append((state.grad_enabled, state.inference))
        state.grad_enabled, state.inference = not self._mode, self._mode
        return self

    def __exit__(self, *exc):
        state.grad_enabled, state.inference = self._prev.pop()
        return False

    def __call__(self, func):
        mode = self._mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return func(*args, **kwargs)

        return wrapper


def is_inference_mode_enabled():
    return state.inference
