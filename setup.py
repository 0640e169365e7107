"""Build for gpugrad. The compiled CPU extension (csrc/cpu -> gpugrad._C) and the CUDA
sources shipped as package data join this file as they are written; until then the
package is pure Python on top of NumPy (and CuPy when installed)."""

from setuptools import find_packages, setup

setup(
    name="gpugrad",
    version="0.1.0",
    description="Tensors and reverse-mode autograd on NVIDIA GPUs (CuPy + CUDA kernels) and CPUs (NumPy)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["gpugrad", "gpugrad.*"]),
    install_requires=[
        "numpy>=1.26,<3",
        "safetensors>=0.4",  # checkpoints without pickle
        "tqdm>=4.60",  # progress bars of gpugrad train and downloads
        "mnist1d>=0.0.2",  # the authors' MNIST-1D generator (runs locally; brings scipy, matplotlib)
        "matplotlib>=3.5",  # gpugrad train --plot
    ],
    entry_points={"console_scripts": ["gpugrad = gpugrad.cli:main"]},
    extras_require={
        # CuPy wheels are per CUDA major version; pick the one that matches the driver.
        "cuda": ["cupy-cuda12x>=13; platform_system != 'Darwin'"],
        "cuda13": ["cupy-cuda13x>=14; platform_system != 'Darwin'"],
        "test": ["pytest>=7.4", "hypothesis>=6.90"],
        "bench": ["torch>=2.1"],
    },
    license="MIT",
    classifiers=[
        "Programming Language :: Python :: 3",
        "Intended Audience :: Science/Research",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
