#!/usr/bin/python3
"""The seed document's serving design, as the baseline ferry is measured against.

A Flask app whose POST /predict reads a multipart body (field "meta" = JSON {"shape": [h, w, c]},
field "blob" = raw HWC uint8 pixels, BGR as cv2 reads them), runs a torch model in eval mode on
that one image, applies softmax and max, and answers {"label": int}. One request, one forward pass;
Flask's built-in threaded server, as in the seed.

The model is the same Fashion-MNIST ONNX file ferry serves: its graph (a chain of Conv, Relu,
MaxPool, Flatten, Gemm, ...) is rebuilt as a torch nn.Sequential and its weights are copied from
the ONNX initializers (the exporter folded BatchNorm into the convolutions, so the training class
would not take them as is). Preprocessing is the model's serving contract: gray, 28x28,
x = (p/255 - 0.2860) / 0.3530.

With --runtime ort, the same app runs the ONNX file in one onnxruntime InferenceSession (the
same runtime ferry serves with, so the comparison is of the serving design alone).

Run with Debian's python (python3-torch, python3-onnx, python3-flask; onnxruntime from the .venv
for --runtime ort):

    /usr/bin/python3 bench/seed-flask/seed_server.py --model examples/fashion/1/model.onnx --port 5000
    .venv/bin/python bench/seed-flask/seed_server.py --model examples/fashion/1/model.onnx --runtime ort
"""
import argparse
import json

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from flask import Flask, jsonify, request
from onnx import numpy_helper

MEAN, STD, SIZE = 0.2860, 0.3530, 28


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _symmetric_pads(a):
    p = list(a.get("pads", [0, 0, 0, 0]))
    if p[:2] != p[2:]:
        raise NotImplementedError(f"asymmetric pads {p}")
    return tuple(p[:2])


def module_from_onnx(path):
    """Rebuilds a chain-shaped ONNX graph as nn.Sequential with the file's weights."""
    model = onnx.load(path)
    g = model.graph
    w = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
    layers, prev = [], [i.name for i in g.input if i.name not in w][0]
    for n in g.node:
        if n.input[0] != prev:
            raise NotImplementedError(f"node {n.name or n.op_type} does not follow the previous one: the graph is not a chain")
        a, op = _attrs(n), n.op_type
        if op == "Conv":
            weight = w[n.input[1]]
            bias = w[n.input[2]] if len(n.input) > 2 and n.input[2] else None
            groups = a.get("group", 1)
            conv = nn.Conv2d(weight.shape[1] * groups, weight.shape[0], tuple(weight.shape[2:]),
                             stride=tuple(a.get("strides", [1, 1])), padding=_symmetric_pads(a),
                             dilation=tuple(a.get("dilations", [1, 1])), groups=groups, bias=bias is not None)
            conv.weight.data.copy_(weight)
            if bias is not None:
                conv.bias.data.copy_(bias)
            layers.append(conv)
        elif op == "BatchNormalization":
            scale, b, mean, var = (w[i] for i in n.input[1:5])
            bn = nn.BatchNorm2d(scale.shape[0], eps=a.get("epsilon", 1e-5))
            bn.weight.data.copy_(scale)
            bn.bias.data.copy_(b)
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)
            layers.append(bn)
        elif op == "Relu":
            layers.append(nn.ReLU())
        elif op == "MaxPool":
            k = tuple(a["kernel_shape"])
            layers.append(nn.MaxPool2d(k, stride=tuple(a.get("strides", k)), padding=_symmetric_pads(a),
                                       ceil_mode=bool(a.get("ceil_mode", 0))))
        elif op == "Flatten":
            layers.append(nn.Flatten(a.get("axis", 1)))
        elif op == "Gemm":
            if a.get("transA", 0) or not a.get("transB", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                raise NotImplementedError("only Gemm(transB=1, alpha=beta=1), as nn.Linear exports")
            weight, bias = w[n.input[1]], w[n.input[2]] if len(n.input) > 2 else None
            lin = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
            lin.weight.data.copy_(weight)
            if bias is not None:
                lin.bias.data.copy_(bias)
            layers.append(lin)
        elif op in ("Identity", "Dropout"):
            layers.append(nn.Identity())
        else:
            raise NotImplementedError(f"ONNX op {op} is not supported by this converter")
        prev = n.output[0]
    return nn.Sequential(*layers).eval()


def preprocess(img):
    """uint8 HWC (BGR) or HW -> float32 [1,1,28,28]."""
    x = torch.from_numpy(img.astype(np.float32))
    if x.dim() == 3:
        if x.shape[2] >= 3:
            x = x[:, :, 0] * 0.114 + x[:, :, 1] * 0.587 + x[:, :, 2] * 0.299  # BGR -> gray (ITU-R 601)
        else:
            x = x[:, :, 0]
    x = x[None, None]
    if tuple(x.shape[2:]) != (SIZE, SIZE):
        x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    return (x / 255.0 - MEAN) / STD


class OrtModel:
    """The ONNX file in one onnxruntime session, called as the torch module is: logits of a [1,1,28,28] batch."""

    def __init__(self, path):
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def __call__(self, x):
        return torch.from_numpy(self.session.run(None, {self.input: x.numpy()})[0])


def create_app(model):
    app = Flask(__name__)

    def field(name):
        f = request.files.get(name)
        return f.read() if f is not None else request.form[name].encode()

    @app.route("/predict", methods=["POST"])
    def predict():
        meta = json.loads(field("meta"))
        img = np.frombuffer(field("blob"), dtype=np.uint8).reshape(meta["shape"])
        with torch.no_grad():
            out = model(preprocess(img))
            prob = F.softmax(out, dim=1)
            _, label = prob.max(dim=1)
        return jsonify({"label": int(label)})

    return app


def main():
    ap = argparse.ArgumentParser(description="The seed's Flask /predict server, for benchmarks.")
    ap.add_argument("--model", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5000)
    ap.add_argument("--runtime", choices=["torch", "ort"], default="torch", help="torch (as the seed) or one onnxruntime session")
    ap.add_argument("--check", action="store_true", help="print the model's logits for a zero image and exit")
    args = ap.parse_args()
    model = module_from_onnx(args.model) if args.runtime == "torch" else OrtModel(args.model)
    if args.check:
        with torch.no_grad():
            print(json.dumps(model(preprocess(np.zeros((SIZE, SIZE), np.uint8)))[0].tolist()))
        return
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per request
    create_app(model).run(host=args.host, port=args.port, threaded=True)


if __name__ == "__main__":
    main()
