"""Hidden and output units as modules (the study notes' catalogue)."""

from .. import creation
from ..errors import ArgumentError
from ..functional import activation as F
from . import functional as NF
from . import init
from .layers import Linear
from .module import Module
from .parameter import Parameter


def _simple(name, fn, doc):
    cls = type(name, (Module,), {"forward": lambda self, x: fn(x), "__doc__": doc})
    return cls


ReLU = _simple("ReLU", NF.relu, "max(0, x).")
Sigmoid = _simple("Sigmoid", NF.sigmoid, "1 / (1 + exp(-x)), computed without overflow.")
Tanh = _simple("Tanh", NF.tanh, "tanh(x).")
SiLU = _simple("SiLU", NF.silu, "x * sigmoid(x).")
AbsRectification = _simple("AbsRectification", NF.abs_rectification, "|x|: absolute-value rectification.")


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return NF.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class PReLU(Module):
    """Leaky ReLU with a learned slope: one shared, or one per channel (dim 1)."""

    def __init__(self, num_parameters=1, init=0.25):
        super().__init__()
        self.weight = Parameter(creation.full((num_parameters,), float(init)))

    def forward(self, x):
        return NF.prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.weight.numel()}"


class ELU(Module):
    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return NF.elu(x, self.alpha)


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return NF.gelu(x, self.approximate)


class Softplus(Module):
    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return NF.softplus(x, self.beta, self.threshold)


class Hardtanh(Module):
    def __init__(self, min_val=-1.0, max_val=1.0):
        super().__init__()
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        return NF.hardtanh(x, self.min_val, self.max_val)


class Softmax(Module):
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return NF.softmax(x, self.dim)


class LogSoftmax(Softmax):
    def forward(self, x):
        return NF.log_softmax(x, self.dim)


class Maxout(Module):
    """Maxout units: ``out_features`` units, each the max of ``pieces`` affine pieces."""

    def __init__(self, in_features, out_features, pieces=2):
        super().__init__()
        if pieces < 1:
            raise ArgumentError(f"[Maxout] pieces must be >= 1, got {pieces}")
        self.pieces = pieces
        self.linear = Linear(in_features, out_features * pieces)

    def forward(self, x):
        return NF.maxout(self.linear(x), self.pieces)

    def extra_repr(self):
        return f"pieces={self.pieces}"


class RBF(Module):
    """Radial basis function units: h_i = exp(-||x - c_i||^2 / sigma_i^2), with learned
    centres c_i and widths sigma_i = exp(log_sigma_i)."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.centers = Parameter(creation.empty(out_features, in_features))
        init.normal_(self.centers)
        self.log_sigma = Parameter(creation.zeros(out_features))

    def forward(self, x):
        # ||x - c||^2 = |x|^2 - 2 x.c + |c|^2, through one matmul
        d2 = (x * x).sum(-1, keepdim=True) - 2.0 * (x @ self.centers.T) + (self.centers * self.centers).sum(-1)
        return (-(d2.clamp(min=0.0)) * (-2.0 * self.log_sigma).exp()).exp()


class GaussianHead(Module):
    """A heteroscedastic Gaussian output unit: predicts a mean and a raw precision per
    output; pair with ``heteroscedastic_gaussian_nll`` (precision = softplus(raw))."""

    def __init__(self, in_features, out_features=1):
        super().__init__()
        self.mean = Linear(in_features, out_features)
        self.raw_precision = Linear(in_features, out_features)

    def forward(self, x):
        return self.mean(x), self.raw_precision(x)

    def variance(self, raw_precision, eps=1e-6):
        return 1.0 / (NF.softplus(raw_precision) + eps)


class MixtureDensityHead(Module):
    """A mixture density network output: K diagonal Gaussians over D outputs. Returns
    (mixing logits (N, K), means (N, K, D), log std (N, K, D)) for ``mdn_nll``."""

    def __init__(self, in_features, out_features, components):
        super().__init__()
        self.k, self.d = components, out_features
        self.logits = Linear(in_features, components)
        self.means = Linear(in_features, components * out_features)
        self.log_std = Linear(in_features, components * out_features)

    def forward(self, x):
        n = x.shape[0]
        return (self.logits(x), self.means(x).reshape(n, self.k, self.d),
                self.log_std(x).clamp(-7.0, 7.0).reshape(n, self.k, self.d))


class _Inplace(Module):
    """An activation with PyTorch's ``inplace`` flag (which writes the result into the input)."""

    fn = None

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return type(self).fn(x, inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class SELU(_Inplace):
    """scale * elu(x, alpha) with the self-normalizing constants."""

    fn = staticmethod(F.selu)


class ReLU6(_Inplace):
    """min(max(0, x), 6)."""

    fn = staticmethod(F.relu6)


class Hardsigmoid(_Inplace):
    """relu6(x + 3) / 6."""

    fn = staticmethod(F.hardsigmoid)


class Hardswish(_Inplace):
    """x * relu6(x + 3) / 6."""

    fn = staticmethod(F.hardswish)


class Mish(_Inplace):
    """x * tanh(softplus(x))."""

    fn = staticmethod(F.mish)


class CELU(Module):
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1))."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x):
        return F.celu(x, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Threshold(Module):
    """x where x > threshold, else value."""

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, x):
        return F.threshold(x, self.threshold, self.value, self.inplace)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}" + (", inplace=True" if self.inplace else "")


LogSigmoid = _simple("LogSigmoid", F.logsigmoid, "log(sigmoid(x)), computed without overflow.")
Softsign = _simple("Softsign", F.softsign, "x / (1 + |x|).")
Tanhshrink = _simple("Tanhshrink", F.tanhshrink, "x - tanh(x).")


class Softmin(Module):
    """softmax(-x) along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmin(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class GLU(Module):
    """a * sigmoid(b) of the two halves of the input along ``dim``."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.glu(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"
