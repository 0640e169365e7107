"""Anomaly mode names the module an anomaly comes from, by its qualified name in the model
that was called (``2 (Linear)``, ``encoder.act (Sqrt)``), in forward and in backward."""

import threading

import pytest

import gpugrad as gg
from gpugrad import nn
from gpugrad.errors import AnomalyError


class Sqrt(nn.Module):
    def forward(self, x):
        return x.sqrt()


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 2)
        self.act = Sqrt()

    def forward(self, x):
        return self.act(self.fc1(x) * 0.0)  # sqrt at 0: a finite forward, an infinite gradient


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Block()

    def forward(self, x):
        return self.encoder(x)


def test_forward_anomaly_names_the_module(device):
    model = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 2)).to(device)
    with gg.no_grad():
        model[2].bias.fill_(float("nan"))
    x = gg.tensor([[1.0, 2.0]], device=device)
    with gg.autograd.detect_anomaly():
        with pytest.raises(AnomalyError, match=r"\[Linear\] forward output 0 .* in module 2 \(Linear\) of Sequential\."):
            model(x)


def test_backward_anomaly_names_the_nested_module(device):
    net = Net().to(device)
    x = gg.tensor([[1.0, 2.0]], device=device)
    with gg.autograd.detect_anomaly():
        loss = net(x).sum()
        message = r"\[Sqrt\] the gradient for input 0 \(backward\) .* created in module encoder\.act \(Sqrt\) of Net,"
        with pytest.raises(AnomalyError, match=message):
            loss.backward()


def test_an_op_of_the_outermost_module_and_one_outside_any_module():
    class Top(nn.Module):
        def forward(self, x):
            return x.log()

    x = gg.tensor([-1.0])
    with gg.autograd.detect_anomaly():
        with pytest.raises(AnomalyError, match=r"in the outermost module \(Top\)\."):
            Top()(x)
        # the failed call left no module behind: an op outside any module names none
        with pytest.raises(AnomalyError) as info:
            x.log()
    assert "module" not in str(info.value).split("\n")[0]


def test_a_shared_layer_goes_by_its_registered_name():
    class Decoder(nn.Module):
        def __init__(self, shared):
            super().__init__()
            self.shared = [shared]  # a plain list: the layer is not registered here

        def forward(self, x):
            return self.shared[0](x)

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(2, 2)
            self.dec = Decoder(self.enc)

        def forward(self, x):
            return self.dec(x)

    model = Tied()
    with gg.no_grad():
        model.enc.bias.fill_(float("nan"))
    with gg.autograd.detect_anomaly():
        with pytest.raises(AnomalyError, match=r"in module enc \(Linear\) of Tied\."):
            model(gg.tensor([[1.0, 2.0]]))


def test_the_modules_being_called_are_per_thread():
    """While another thread is inside a module's forward, an anomaly in this thread names
    this thread's module alone (the threads are ordered by events, not by timing)."""
    inside, done = threading.Event(), threading.Event()

    class Waits(nn.Module):
        def forward(self, x):
            inside.set()
            done.wait()
            return x

    class Top(nn.Module):
        def forward(self, x):
            return x.log()

    def call():
        with gg.autograd.detect_anomaly():
            Waits()(gg.tensor([1.0]))

    t = threading.Thread(target=call)
    t.start()
    try:
        inside.wait()
        with gg.autograd.detect_anomaly():
            with pytest.raises(AnomalyError, match=r"^\[Log\] forward output 0 .* in the outermost module \(Top\)\."):
                Top()(gg.tensor([0.0]))
    finally:
        done.set()
        t.join()
