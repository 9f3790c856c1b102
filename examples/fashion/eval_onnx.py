#!/usr/bin/python3
"""Check an exported Fashion-MNIST ONNX model without onnxruntime.

onnxruntime is not installed here, so this file holds a tiny ONNX
interpreter that runs the graph node by node with torch.nn.functional.
It only knows the operators a small CNN exports to (Conv,
BatchNormalization, Relu, MaxPool, Flatten, Gemm, ...); any other op is
an error, never silently skipped.  It reads the weights from the .onnx
file itself, so it checks the exported file, not the training code.

Usage:
    /usr/bin/python3 examples/fashion/eval_onnx.py [--model PATH] [--data-dir DIR]

It prints the top-1 accuracy on the 10,000 test images, with the same
preprocessing the server uses: x = (p/255 - 0.2860) / 0.3530, NCHW.
With onnxruntime importable it also checks that onnxruntime agrees.
"""
import argparse
import gzip
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    """Read a gzip'd IDX file (uint8 images or labels) into a numpy array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    ndim = magic & 0xFF
    if magic >> 8 != 0x08:  # 0x08 = unsigned byte
        raise ValueError(f"{path}: not a uint8 IDX file (magic {magic:#x})")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims).copy()  # writable (frombuffer is read-only)


def load_split(data_dir, split):
    """split: 'train' or 't10k'. Returns (images uint8 [N,28,28], labels int64 [N])."""
    x = read_idx(os.path.join(data_dir, f"{split}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(data_dir, f"{split}-labels-idx1-ubyte.gz")).astype(np.int64)
    return x, y


def preprocess(pixels_uint8):
    """uint8 [N,28,28] (or [N,1,28,28]) -> float32 [N,1,28,28], the serving contract."""
    x = torch.from_numpy(np.ascontiguousarray(pixels_uint8)).float()
    if x.dim() == 3:
        x = x.unsqueeze(1)
    return (x / 255.0 - MEAN) / STD


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _pads(a, nd=2):
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("auto_pad is not supported")
    p = list(a.get("pads", [0] * (2 * nd)))
    begin, end = p[:nd], p[nd:]
    return begin, end


def _conv(x, w, b, a):
    begin, end = _pads(a)
    if begin != end:
        x = F.pad(x, [begin[1], end[1], begin[0], end[0]])
        pad = 0
    else:
        pad = tuple(begin)
    return F.conv2d(x, w, b, stride=tuple(a.get("strides", [1, 1])), padding=pad,
                    dilation=tuple(a.get("dilations", [1, 1])), groups=a.get("group", 1))


def _maxpool(x, a):
    begin, end = _pads(a)
    if begin != end:
        x = F.pad(x, [begin[1], end[1], begin[0], end[0]], value=float("-inf"))
        pad = 0
    else:
        pad = tuple(begin)
    return F.max_pool2d(x, tuple(a["kernel_shape"]), stride=tuple(a.get("strides", a["kernel_shape"])),
                        padding=pad, dilation=tuple(a.get("dilations", [1, 1])),
                        ceil_mode=bool(a.get("ceil_mode", 0)))


def _gemm(ins, a):
    A, B = ins[0], ins[1]
    if a.get("transA", 0):
        A = A.t()
    if a.get("transB", 0):
        B = B.t()
    y = a.get("alpha", 1.0) * (A @ B)
    if len(ins) > 2 and ins[2] is not None:
        y = y + a.get("beta", 1.0) * ins[2]
    return y


def _reshape(x, shape):
    shape = [int(s) for s in shape.tolist()]
    shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


class OnnxTorchRunner:
    """Runs a (small, static-op-set) ONNX graph with torch on CPU."""

    def __init__(self, path):
        self.model = onnx.load(path)
        onnx.checker.check_model(self.model)
        g = self.model.graph
        self.init = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
        init_names = set(self.init)
        self.inputs = [i.name for i in g.input if i.name not in init_names]
        self.outputs = [o.name for o in g.output]
        self.nodes = list(g.node)

    @torch.no_grad()
    def run(self, feeds):
        env = dict(self.init)
        for k, v in feeds.items():
            env[k] = v if isinstance(v, torch.Tensor) else torch.from_numpy(np.asarray(v))
        for n in self.nodes:
            ins = [env[i] if i else None for i in n.input]
            a = _attrs(n)
            op = n.op_type
            if op == "Conv":
                out = _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)
            elif op == "BatchNormalization":
                out = F.batch_norm(ins[0], ins[3], ins[4], ins[1], ins[2], False, 0.0, a.get("epsilon", 1e-5))
            elif op == "Relu":
                out = torch.relu(ins[0])
            elif op == "MaxPool":
                out = _maxpool(ins[0], a)
            elif op == "GlobalAveragePool":
                out = ins[0].mean(dim=(2, 3), keepdim=True)
            elif op == "Flatten":
                ax = a.get("axis", 1)
                out = ins[0].reshape(int(np.prod(ins[0].shape[:ax], dtype=np.int64)), -1)
            elif op == "Reshape":
                out = _reshape(ins[0], ins[1])
            elif op == "Gemm":
                out = _gemm(ins, a)
            elif op == "MatMul":
                out = ins[0] @ ins[1]
            elif op == "Add":
                out = ins[0] + ins[1]
            elif op == "Mul":
                out = ins[0] * ins[1]
            elif op in ("Identity", "Dropout"):
                out = ins[0]
            elif op == "Constant":
                out = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
            elif op == "Softmax":
                out = torch.softmax(ins[0], dim=a.get("axis", -1))
            else:
                raise NotImplementedError(f"ONNX op {op} is not supported by this checker")
            env[n.output[0]] = out
        return [env[o] for o in self.outputs]


def onnxruntime_logits(path, x_np):
    """Logits from onnxruntime, or None when it is not installed."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sess.run(["logits"], {"input": x_np})[0]


def evaluate(model_path, x_uint8, y, batch=1000):
    """Returns (accuracy, logits numpy [N,10]) of the ONNX file on uint8 images."""
    runner = OnnxTorchRunner(model_path)
    outs = []
    for i in range(0, len(x_uint8), batch):
        outs.append(runner.run({"input": preprocess(x_uint8[i:i + batch])})[0])
    logits = torch.cat(outs).numpy()
    acc = float((logits.argmax(1) == y).mean())
    return acc, logits


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(HERE, "1", "model.onnx"))
    ap.add_argument("--data-dir", default=DEFAULT_DATA)
    args = ap.parse_args()
    torch.set_num_threads(2)

    x, y = load_split(args.data_dir, "t10k")
    acc, logits = evaluate(args.model, x, y)
    print(f"{args.model}: test top-1 {acc * 100:.2f}% on {len(y)} images (torch-based ONNX interpreter)")

    ort_logits = onnxruntime_logits(args.model, preprocess(x[:256]).numpy())
    if ort_logits is None:
        print("onnxruntime not importable; skipped the onnxruntime cross-check")
    else:
        diff = float(np.abs(ort_logits - logits[:256]).max())
        print(f"onnxruntime vs interpreter: max |diff| = {diff:.2e}")
        if diff > 1e-3:
            sys.exit("onnxruntime disagrees with the interpreter")


if __name__ == "__main__":
    main()
