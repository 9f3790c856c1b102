#!/usr/bin/python3
"""Export torchvision's resnet18 (random weights, seeded) to ONNX for the ferry benchmark.

Run with Debian's python (it has torch, torchvision and onnx):

    /usr/bin/python3 bench/resnet18/export.py [--out bench/models/resnet18/1/model.onnx]

Writes an opset-13 model with input "input" [batch,3,224,224] float32 and output "logits"
[batch,1000] float32, the batch axis dynamic. Weights are random (the benchmark measures speed,
not accuracy); eval mode, so BatchNorm is folded by the exporter's constant folding.
"""
import argparse
import os

import onnx
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "models", "resnet18", "1", "model.onnx")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.manual_seed(0)
    model = torchvision.models.resnet18()  # random weights: no download
    model.eval()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.onnx.export(
        model, torch.zeros(1, 3, 224, 224), args.out,
        export_params=True, opset_version=13, do_constant_folding=True,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    m = onnx.load(args.out)
    onnx.checker.check_model(m)
    print(f"exported {os.path.normpath(args.out)} ({os.path.getsize(args.out) / 1e6:.1f} MB), opset {m.opset_import[0].version}")


if __name__ == "__main__":
    main()
