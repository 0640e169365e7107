"""Checks of values that live on a device (an index in range, a class target), raised
without a read per check.

On the CPU a check runs at once: reading NumPy memory costs nothing. On a GPU each read
waits for the device, so a training step that checked its embedding indices, gather
indices and targets with reads would stall several times a step. There, ``add`` only
records how to compute the check; the next read of any result (``to_host``, ``.item()``,
``synchronize``) folds every pending check into a small device record with array ops,
reads that record once, and raises the first failure in the order the checks were made.
This is how CUDA reports its own device errors, and unlike a device assert it leaves
the device usable. At most ``MAX_PENDING`` checks are kept: beyond that they are folded
into the record on the device (still no read), so memory stays bounded in a loop that
never reads.
"""

from ..errors import GpugradIndexError


def run_now(make, message, error=GpugradIndexError):
    """A check on the CPU: ``make()`` gives (bad, position, value) as 0-d arrays; ``error`` is
    the class raised (an index error unless the check says otherwise)."""
    bad, position, value = make()
    if bool(bad):
        raise error(message.format(position=int(position), value=_scalar(value)))


def _scalar(value):
    """An offending value as a Python number; a NaN or inf (which has no int) as a float."""
    v = value.item() if hasattr(value, "item") else value
    return int(v) if isinstance(v, float) and v.is_integer() else v


class DeferredChecks:
    MAX_PENDING = 64

    def __init__(self, xp, read):
        self.xp = xp
        self._read = read  # the backend's raw device-to-host copy (a read that does not check first)
        self.pending = []  # (make, (message, error))
        self.messages = {}  # (message, error class) -> its code in the record (from 1); few distinct ones
        self.record = None  # device int64 [code, position, value] of the first failure, code 0: none

    def __bool__(self):  # anything to check at the next read
        return bool(self.pending) or self.record is not None

    def add(self, make, message, error=GpugradIndexError):
        """Record a check: ``make()`` gives (bad, position, value), 0-d device arrays
        (position and value are read only when bad, the value as an integer); ``message`` is
        formatted with them into an ``error``."""
        self.pending.append((make, (message, error)))
        if len(self.pending) > self.MAX_PENDING:
            self._fold()

    def _fold(self):
        """Fold the pending checks into the record, on the device."""
        if not self.pending:
            return
        xp = self.xp
        rows, bads = [], []
        for make, message in self.pending:
            bad, position, value = make()
            code = self.messages.setdefault(message, len(self.messages) + 1)
            bads.append(xp.asarray(bad).reshape(()))
            rows.append(xp.stack([xp.asarray(code, dtype=xp.int64), xp.asarray(position).astype(xp.int64),
                                  xp.asarray(value).astype(xp.int64)]))
        self.pending = []
        bad = xp.stack(bads)
        first = xp.stack(rows)[xp.argmax(bad)]  # the earliest failing check
        if self.record is None:
            self.record = xp.zeros(3, dtype=xp.int64)
        self.record = xp.where((self.record[0] == 0) & bad.any(), first, self.record)

    def raise_pending(self):
        """Read the record once and raise its failure, if any; the checks are used up."""
        self._fold()
        if self.record is None:
            return
        record, self.record = self.record, None
        code, position, value = (int(v) for v in self._read(record))
        if code:
            message, error = next(m for m, c in self.messages.items() if c == code)
            raise error(message.format(position=position, value=value))
