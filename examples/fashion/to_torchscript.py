#!/usr/bin/python3
"""Writes the TorchScript twin of the bundled Fashion-MNIST model (1/model.onnx).

The network is train.py's FashionCNN as its ONNX export left it: BatchNorm folded into the
convolutions' weights and biases, dropout gone. It is rebuilt in PyTorch, given the ONNX file's
weights, traced (batch axis dynamic) and saved with its signature in ferry.json, so that
`ferry serve` runs it on the libtorch engine. Run with Debian's python (torch, onnx, numpy):

    /usr/bin/python3 examples/fashion/to_torchscript.py --out /tmp/fashion-ts/fashion/1/model.pt \
        [--no-signature] [--parity parity.npz]

--no-signature leaves ferry.json out (the model config then declares input and output, Triton's way).
--parity writes seeded inputs ("input", [8,1,28,28]) and the eager module's outputs ("logits")
to an .npz: the reference served outputs are checked against.
"""
import argparse
import json
import os

import numpy as np
import onnx
from onnx import numpy_helper
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


class FoldedFashionCNN(nn.Module):
    """FashionCNN (train.py) in eval mode with BatchNorm folded: conv+bias, relu, pool, x3; two linears."""

    def __init__(self, c1=32, c2=64, c3=64, hidden=128):
        super().__init__()

        def block(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))

        self.features = nn.Sequential(block(1, c1), block(c1, c2), block(c2, c3))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(c3 * 3 * 3, hidden), nn.ReLU(), nn.Linear(hidden, 10))

    def forward(self, input):  # noqa: A002 - the ONNX model's input name, which the config declares
        return self.classifier(self.features(input))


def load_onnx_weights(model, path):
    """Copies the ONNX initializers into the module, in graph order (Conv W, B per block; Gemm W, B)."""
    graph = onnx.load(path).graph
    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    params = []
    for node in graph.node:
        if node.op_type in ("Conv", "Gemm"):
            params += [weights[node.input[1]], weights[node.input[2]]]
    targets = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(params) == 2 * len(targets), (len(params), len(targets))
    with torch.no_grad():
        for i, m in enumerate(targets):
            w, b = params[2 * i], params[2 * i + 1]
            assert tuple(m.weight.shape) == w.shape and tuple(m.bias.shape) == b.shape, (m, w.shape, b.shape)
            m.weight.copy_(torch.from_numpy(np.array(w)))
            m.bias.copy_(torch.from_numpy(np.array(b)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--onnx", default=os.path.join(HERE, "1", "model.onnx"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-signature", action="store_true", help="leave ferry.json out")
    ap.add_argument("--parity", help="write seeded inputs and the eager outputs to this .npz")
    args = ap.parse_args()

    model = FoldedFashionCNN().eval()
    load_onnx_weights(model, args.onnx)
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.zeros(2, 1, 28, 28))
    signature = {
        "format": "ferry-torchscript/1",
        "inputs": [{"name": "input", "datatype": "FP32", "dims": [-1, 1, 28, 28]}],
        "outputs": [{"name": "logits", "datatype": "FP32", "dims": [-1, 10]}],
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    traced.save(args.out, _extra_files={} if args.no_signature else {"ferry.json": json.dumps(signature)})
    if args.parity:
        gen = torch.Generator().manual_seed(7)
        x = torch.rand(8, 1, 28, 28, generator=gen) * 3 - 1
        with torch.no_grad():
            y = model(x)  # eager, not the traced module
        np.savez(args.parity, input=x.numpy(), logits=y.numpy())
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
