"""Starting several processes: what the MPI launcher told this process, and finding the
launcher for ``gpugrad train --nproc N``. Nothing here imports mpi4py (that starts MPI)."""

import os
import pathlib
import shutil
import sys

from ..errors import BackendUnavailableError

# The variables the launchers set, as (world size, rank): MPICH's and Intel MPI's Hydra (PMI),
# Open MPI, PMIx launchers, Slurm's srun.
_ENV = (("PMI_SIZE", "PMI_RANK"), ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"), ("PMIX_SIZE", "PMIX_RANK"),
        ("SLURM_STEP_NUM_TASKS", "SLURM_PROCID"))


def launched_world_size(environ=None):
    """How many processes the MPI launcher started this one with (1 without a launcher)."""
    env = os.environ if environ is None else environ
    for size, _ in _ENV:
        value = env.get(size, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1


def launched_local_size(environ=None):
    """How many of the job's processes run on this host, by the launcher's variables
    (the whole job's size where it gives none: the cautious guess for sharing the cores)."""
    env = os.environ if environ is None else environ
    for name in ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE", "PMIX_LOCAL_SIZE"):
        value = env.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return launched_world_size(env)


def find_launcher():
    """The ``mpiexec`` of the MPI that mpi4py uses (the ``mpich`` wheel puts it beside this
    Python), else ``mpiexec`` or ``mpirun`` on the PATH."""
    here = pathlib.Path(sys.executable).with_name("mpiexec")
    if here.exists():
        return str(here)
    for name in ("mpiexec", "mpirun"):
        found = shutil.which(name)
        if found:
            return found
    raise BackendUnavailableError("[gpugrad.distributed] no MPI launcher (mpiexec) was found beside this Python or on "
                                  "the PATH: pip install 'gpugrad[mpi]' installs mpi4py and MPICH with one, or load "
                                  "your cluster's MPI")


def launch_command(nproc, argv):
    """The command that starts ``python -m gpugrad ARGV`` on ``nproc`` processes."""
    return [find_launcher(), "-n", str(nproc), sys.executable, "-m", "gpugrad", *argv]


def threads_per_process(local_size):
    """CPU threads for each of ``local_size`` processes on one host: the cores shared out."""
    return max(1, (os.cpu_count() or 1) // max(1, local_size))


def abort(code):
    """End every process of the job with exit code ``code`` (MPI_Abort), after a moment
    for the launcher to pass on what this one printed."""
    import time

    from mpi4py import MPI

    time.sleep(0.5)
    MPI.COMM_WORLD.Abort(code)
