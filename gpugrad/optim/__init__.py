"""gpugrad.optim: optimizers and learning-rate schedules."""

from . import lr_scheduler
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .optimizers import ASGD, SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop, Rprop, SparseAdam

__all__ = ["ASGD", "LBFGS", "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "NAdam", "Optimizer", "RAdam",
           "RMSprop", "Rprop", "SparseAdam", "lr_scheduler"]
