"""gpugrad.distributed: process groups and collectives with PyTorch's vocabulary, on MPI
(mpi4py) for processes on one or many hosts, or on NCCL for CUDA tensors.

Start the processes with an MPI launcher (``mpiexec -n 4 python train.py``, Slurm's
``srun``), then ``init_process_group()`` in each: backend ``"mpi"`` (tensors on any
device) or ``"nccl"`` (CUDA tensors, GPU to GPU through CuPy's NCCL; MPI still launches
and connects the ranks, and each rank uses GPU ``local_rank % device_count``); by default
``"nccl"`` when the default device is a GPU and ``is_nccl_available()``, else ``"mpi"``.
Collectives work in place on tensors (``all_reduce``, ``broadcast``, ``all_gather``,
``reduce_scatter``, ``gather``, ``scatter``); with ``async_op=True`` they return a
``Work`` whose ``wait()`` finishes them. MPI works on host memory: a CUDA tensor is staged
through host memory for it. NCCL queues each collective on the current CUDA stream without
the host waiting; its ``Work.wait()`` makes the current stream wait (with a ``timeout``, the
host waits). A collective that does not finish within the group's ``timeout`` raises
``DistributedError`` on the rank that waits (under NCCL: in ``Work.wait(timeout)``); an
exception that ends a rank's program aborts the whole job (``MPI_Abort``) after printing
which rank failed and why, so no rank waits forever for it.

Data-parallel training: ``gpugrad.nn.parallel.DistributedDataParallel`` (``ddp.py`` here);
``gpugrad train`` under ``mpiexec -n N`` or with ``--nproc N`` (``launch.py``).
"""

from .collectives import (
    DistributedError,
    ReduceOp,
    Work,
    all_gather,
    all_reduce,
    barrier,
    broadcast,
    destroy_process_group,
    gather,
    get_backend,
    get_local_rank,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    reduce_scatter,
    scatter,
)

__all__ = ["DistributedError", "ReduceOp", "Work", "all_gather", "all_reduce", "barrier", "broadcast",
           "destroy_process_group", "gather", "get_backend", "get_local_rank", "get_rank", "get_world_size",
           "init_process_group", "is_available", "is_initialized", "is_mpi_available", "is_nccl_available",
           "reduce_scatter", "scatter"]
