"""gpugrad.nn: modules, layers, units, losses and initialisation."""

from . import functional, init, utils
from .activation import (
    ELU,
    GELU,
    RBF,
    AbsRectification,
    GaussianHead,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    Maxout,
    MixtureDensityHead,
    PReLU,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from .containers import ModuleList, Sequential
from .layers import Dropout, Embedding, Flatten, Identity, Linear, LowRankLinear, Unflatten
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, GaussianNLLLoss, L1Loss, MSELoss, NLLLoss
from .module import Module
from .normalization import BatchNorm1d, LayerNorm
from .parameter import Parameter
from .sparse import SparseGrad

__all__ = [
    "ELU", "GELU", "RBF", "AbsRectification", "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout",
    "Embedding", "GaussianHead", "GaussianNLLLoss", "Hardtanh", "Identity", "L1Loss", "LeakyReLU",
    "Linear", "LogSoftmax", "LowRankLinear", "MSELoss", "Maxout", "MixtureDensityHead", "Module",
    "ModuleList", "NLLLoss", "PReLU", "Parameter", "RBF", "ReLU", "Sequential", "SiLU", "Sigmoid",
    "Softmax", "Softplus", "SparseGrad", "Tanh", "functional", "init", "utils",
    "BatchNorm1d", "Flatten", "LayerNorm", "Unflatten", "BCELoss",
]  # fmt: skip
