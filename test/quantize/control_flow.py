"""Data-dependent control flow for `ferry quantize`'s If / Loop tests: `ferry export --method script`
turns the `if` into an ONNX If and the `for` over a range read from the input's shape into a Loop, with Linear layers
before, inside and after them (so the weighted ops inside subgraphs and the ones that read an If's
or a Loop's output are both there).

    ferry export test/quantize/control_flow.py:make_gated --input-shape 2,8 --method script -o gated.onnx
"""
import torch


class Gated(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.pre = torch.nn.Linear(8, 16)
        self.up = torch.nn.Linear(16, 16)
        self.down = torch.nn.Linear(16, 16)
        self.step = torch.nn.Linear(16, 16)
        self.post = torch.nn.Linear(16, 4)

    def forward(self, x):
        y = torch.relu(self.pre(x))
        if bool(y.mean() > 0.3):
            y = self.up(y)
        else:
            y = -self.down(y)
        # a step per 4 features of x: a Loop whose trip count comes from the input's shape
        for _ in range(x.shape[1] // 4):
            y = y + 0.5 * torch.tanh(self.step(y))
        return self.post(y)


def make_gated():
    torch.manual_seed(0)
    return Gated()
