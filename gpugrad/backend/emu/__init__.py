"""gpugrad's CUDA emulation: the real ``csrc/cuda`` kernels compiled as host C++ and run on
the CPU (``launcher``), behind a CuPy stand-in on NumPy memory, so the CUDA backend and its
kernels are exercised on machines without a GPU."""
