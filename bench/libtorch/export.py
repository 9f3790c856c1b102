#!/usr/bin/python3
"""Export torchvision's resnet18 (random weights, seeded, as bench/resnet18/export.py) to TorchScript.

    /usr/bin/python3 bench/libtorch/export.py [--out bench/models/resnet18-ts/1/model.pt] [--parity FILE.npz]

torch.jit.trace at batch 1 (ResNet's graph does not depend on the batch size), saved with its
signature in ferry.json: input "input" [-1,3,224,224] float32, output "logits" [-1,1000], the
batch axis dynamic. --parity writes seeded inputs ("input", [4,3,224,224]) and the eager
module's outputs ("logits") to an .npz, for the served-vs-eager check.
"""
import argparse
import json
import os

import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "models", "resnet18-ts", "1", "model.pt")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--parity")
    args = ap.parse_args()
    torch.manual_seed(0)
    model = torchvision.models.resnet18()  # random weights: no download
    model.eval()
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.zeros(1, 3, 224, 224))
    signature = {
        "format": "ferry-torchscript/1",
        "inputs": [{"name": "input", "datatype": "FP32", "dims": [-1, 3, 224, 224]}],
        "outputs": [{"name": "logits", "datatype": "FP32", "dims": [-1, 1000]}],
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    traced.save(args.out, _extra_files={"ferry.json": json.dumps(signature)})
    print(f"exported {os.path.normpath(args.out)} ({os.path.getsize(args.out) / 1e6:.1f} MB)")
    if args.parity:
        gen = torch.Generator().manual_seed(11)
        x = torch.randn(4, 3, 224, 224, generator=gen)
        with torch.no_grad():
            y = model(x)  # eager
        np.savez(args.parity, input=x.numpy(), logits=y.numpy())
        print(f"wrote {args.parity}")


if __name__ == "__main__":
    main()
