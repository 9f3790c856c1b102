"""PyTorch modules for the README's walk through ferry's conversion tools (each factory is called
with no arguments: `ferry export examples/pytorch/models.py:make_cnn ...`).

make_cell is the seed's own example (PyTorch's TorchScript tutorial): MyDecisionGate's
`if x.sum() > 0` is data-dependent control flow, which torch.jit.trace silently freezes and
torch.jit.script keeps.
"""
import torch


class MyDecisionGate(torch.nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        else:
            return -x


class MyCell(torch.nn.Module):
    def __init__(self, dg):
        super().__init__()
        self.dg = dg
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x, h):
        new_h = torch.tanh(self.dg(self.linear(x)) + h)
        return new_h, new_h


def make_cell():
    torch.manual_seed(0)
    return MyCell(MyDecisionGate())


class SmallCNN(torch.nn.Module):
    """A small image classifier: two convolutions (one with BatchNorm), global pooling, a linear layer."""

    def __init__(self, classes=10):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1))
        self.fc = torch.nn.Linear(32, classes)

    def forward(self, image):
        return self.fc(torch.flatten(self.features(image), 1))


def make_cnn():
    torch.manual_seed(0)
    model = SmallCNN()
    # trained-like BatchNorm statistics, not the untrained 0 and 1
    bn = model.features[1]
    bn.running_mean.uniform_(-0.2, 0.2)
    bn.running_var.uniform_(0.5, 2.0)
    return model
