"""gpugrad.nn.parallel: ``DistributedDataParallel`` (it lives in ``gpugrad.distributed``,
beside the process group it runs on, and is loaded on first use)."""


def __getattr__(name):
    if name == "DistributedDataParallel":
        from ..distributed.ddp import DistributedDataParallel

        return DistributedDataParallel
    raise AttributeError(f"module 'gpugrad.nn.parallel' has no attribute {name!r}")


__all__ = ["DistributedDataParallel"]  # noqa: F822 (loaded by __getattr__)
