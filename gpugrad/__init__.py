"""gpugrad: tensors and reverse-mode autograd on a GPU (CuPy) or the CPU (NumPy).

    import gpugrad as gg
    x = gg.randn(4, 3, requires_grad=True)
    loss = (x @ x.T).relu().sum()
    loss.backward()
    x.grad  # d loss / d x

The device is picked at runtime: ``GPUGRAD_DEVICE=auto|cpu|cuda`` or
``gpugrad.set_default_device``.
"""

__version__ = "0.1.0"

from .tensor import Tensor  # noqa: E402 - first: it wires the ops into the class
from . import autograd, cuda, errors  # noqa: E402
from .autograd import enable_grad, no_grad, set_grad_enabled  # noqa: E402
from .autograd import is_grad_enabled  # noqa: E402 - issue 17 (math helper)
from .autograd.grad_mode import inference_mode, is_inference_mode_enabled  # noqa: E402 - issue 17 (math helper)
from .backend.threads import get_num_threads, set_num_threads  # noqa: E402 - issue 17 (math helper)
from .creation import Size, bernoulli, normal  # noqa: E402 - issue 17 (math helper)
from .backend import Device as device  # noqa: E402
from .backend import get_default_device, set_default_device  # noqa: E402
from .creation import (  # noqa: E402
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_dlpack,
    from_numpy,
    full,
    full_like,
    get_rng_state,
    linspace,
    manual_seed,
    multinomial,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    set_rng_state,
    strided,
    tensor,
    zeros,
    zeros_like,
)
from .functional import *  # noqa: E402, F403 - torch-style top-level functions
from .functional import abs, all, any, max, min, pow, round, sum  # noqa: E402, F401, A004
from .info import info  # noqa: E402
from .random import Generator, default_generator  # noqa: E402
from .serialization import load, save  # noqa: E402

from . import functional  # noqa: E402, I001
from . import data, nn, optim, utils  # noqa: E402 - written against the API above
from . import linalg  # noqa: E402
from . import distributed  # noqa: E402 - imports mpi4py only when a process group starts
from . import amp  # noqa: E402
from .amp import autocast, get_autocast_dtype, is_autocast_enabled  # noqa: E402

# dtypes last: their torch-style names (float, int, bool, ...) shadow builtins here
from .dtypes import (  # noqa: E402, A004
    bfloat16,
    bool_ as bool,
    double,
    float,
    float16,
    float32,
    float64,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    short,
    uint8,
)
