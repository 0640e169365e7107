"""Device names: ``cpu`` and ``cuda[:N]``."""

from ..errors import DeviceError


class Device:
    """A device such as ``cpu`` or ``cuda:0``; compares equal to its string form."""

    __slots__ = ("type", "index")

    def __init__(self, spec, index=None):
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise DeviceError(f"[device] expected 'cpu', 'cuda' or 'cuda:N', got {spec!r}")
        name, _, num = spec.strip().lower().partition(":")
        if name not in ("cpu", "cuda") or (num and not num.isdigit()):
            raise DeviceError(f"[device] expected 'cpu', 'cuda' or 'cuda:N', got {spec!r}")
        if num:
            index = int(num)
        if name == "cpu":
            if index not in (None, 0):
                raise DeviceError(f"[device] the cpu device has no index, got {spec!r}")
            index = None
        elif index is None:
            index = 0
        self.type, self.index = name, index

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}'" + ("" if self.index is None else f", index={self.index}") + ")"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = Device(other)
            except DeviceError:
                return False
        if not isinstance(other, Device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))
