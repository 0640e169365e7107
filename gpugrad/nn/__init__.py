"""gpugrad.nn: modules, layers, units, losses and initialisation."""

from . import functional, init, parallel, utils
from .activation import (  # issue 17 (nn helper)
    CELU,
    ELU,
    GELU,
    GLU,
    RBF,
    SELU,
    AbsRectification,
    GaussianHead,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Maxout,
    Mish,
    MixtureDensityHead,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softmin,
    Softplus,
    Softsign,
    Tanh,
    Tanhshrink,
    Threshold,
)
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential  # issue 17 (nn helper)
from .layers import (  # issue 17 (nn helper)
    AlphaDropout,
    Bilinear,
    Dropout,
    Embedding,
    EmbeddingBag,
    Flatten,
    Identity,
    Linear,
    LowRankLinear,
    Unflatten,
)
from .loss import (  # issue 17 (nn helper)
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MarginRankingLoss,
    MSELoss,
    MultiLabelSoftMarginLoss,
    NLLLoss,
    PoissonNLLLoss,
    SmoothL1Loss,
    SoftMarginLoss,
    TripletMarginLoss,
)
from .module import Module
from .normalization import BatchNorm1d, GroupNorm, LayerNorm, RMSNorm  # issue 17 (nn helper)
from .parameter import Parameter
from .sparse import SparseGrad

__all__ = [
    "ELU", "GELU", "RBF", "AbsRectification", "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout",
    "Embedding", "GaussianHead", "GaussianNLLLoss", "Hardtanh", "Identity", "L1Loss", "LeakyReLU",
    "Linear", "LogSoftmax", "LowRankLinear", "MSELoss", "Maxout", "MixtureDensityHead", "Module",
    "ModuleList", "NLLLoss", "PReLU", "Parameter", "RBF", "ReLU", "Sequential", "SiLU", "Sigmoid",
    "Softmax", "Softplus", "SparseGrad", "Tanh", "functional", "init", "parallel", "utils",
    "BatchNorm1d", "Flatten", "LayerNorm", "Unflatten", "BCELoss",
    "CELU", "GLU", "SELU", "Hardsigmoid", "Hardswish", "LogSigmoid", "Mish", "ReLU6", "Softmin", "Softsign",
    "Tanhshrink", "Threshold",
    "CosineEmbeddingLoss", "HingeEmbeddingLoss", "HuberLoss", "KLDivLoss", "MarginRankingLoss",
    "MultiLabelSoftMarginLoss", "PoissonNLLLoss", "SmoothL1Loss", "SoftMarginLoss", "TripletMarginLoss",
    "AlphaDropout", "Bilinear", "EmbeddingBag", "GroupNorm", "ModuleDict", "ParameterDict", "ParameterList",
    "RMSNorm",
]  # fmt: skip
