#!/usr/bin/python3
"""Train a small Fashion-MNIST CNN and export it to ONNX for ferry.

Run with Debian's python (it has torch, torchvision and onnx):

    /usr/bin/python3 examples/fashion/train.py [--epochs 12] [--out-dir DIR] [--data-dir DIR]

Writes, under --out-dir (default: this folder):
    1/model.onnx     the model (Triton-style version folder), opset 13,
                     input "input" [batch,1,28,28] float32,
                     output "logits" [batch,10] float32 (raw logits, no softmax)
    metrics.json     test accuracy, parameter count, epochs, versions, date
    samples/         a few correctly classified test images (PNG + one RGB JPEG)
                     and samples/expected.json

Preprocessing contract (the server does exactly this):
    pixel p in [0,255] grayscale, x = (p/255 - 0.2860) / 0.3530, NCHW, 28x28,
    light garment on a black background (no inversion).
"""
import argparse
import datetime
import json
import os
import platform
import random
import re
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep __pycache__ out of the example folder
sys.path.insert(0, HERE)
import eval_onnx  # noqa: E402  (same folder: IDX reader, preprocessing, ONNX checker)

DEFAULT_DATA = eval_onnx.DEFAULT_DATA
MEAN, STD = eval_onnx.MEAN, eval_onnx.STD
SEED = 0

LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


class FashionCNN(nn.Module):
    """3 x (conv3x3 + BN + ReLU + maxpool2) -> 64x3x3 -> FC 128 -> FC 10.

    About 131k parameters and 5.8M multiply-adds per 28x28 image.
    """

    def __init__(self, c1=32, c2=64, c3=64, hidden=128, dropout=0.25):
        super().__init__()

        def block(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                                 nn.BatchNorm2d(cout), nn.ReLU(inplace=True), nn.MaxPool2d(2))

        self.features = nn.Sequential(block(1, c1), block(c1, c2), block(c2, c3))  # 28->14->7->3
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(c3 * 3 * 3, hidden),
            nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def count_macs(model):
    """Multiply-adds per image of conv and linear layers, by forward hooks."""
    macs = []

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            macs.append(out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1])
        elif isinstance(m, nn.Linear):
            macs.append(m.in_features * m.out_features)

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    model.train(was_training)
    for h in hs:
        h.remove()
    return int(sum(macs))


def augment(x_uint8, gen, pad=2):
    """Random horizontal flip and random crop (zero padding `pad`) of a uint8 [B,1,28,28] batch."""
    b = x_uint8.shape[0]
    flip = torch.rand(b, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x_uint8.flip(3), x_uint8)
    xp = F.pad(x, [pad, pad, pad, pad])  # zero = black background
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    ar = torch.arange(28)
    rows = (dy[:, None] + ar[None, :])[:, :, None]  # [B,28,1]
    cols = (dx[:, None] + ar[None, :])[:, None, :]  # [B,1,28]
    return xp[torch.arange(b)[:, None, None], 0, rows, cols].unsqueeze(1)


def normalize(x_uint8):
    return (x_uint8.float() / 255.0 - MEAN) / STD


@torch.no_grad()
def predict(model, x_uint8, batch=1000):
    model.eval()
    out = [model(normalize(x_uint8[i:i + batch])) for i in range(0, len(x_uint8), batch)]
    return torch.cat(out)


def slug(label):
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def export_onnx(model, path):
    model.eval()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    dummy = torch.zeros(1, 1, 28, 28, dtype=torch.float32)
    torch.onnx.export(
        model, dummy, path,
        export_params=True, opset_version=13, do_constant_folding=True,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ins = [i for i in m.graph.input if i.name not in {t.name for t in m.graph.initializer}]
    assert [i.name for i in ins] == ["input"], ins
    assert [o.name for o in m.graph.output] == ["logits"], m.graph.output
    assert m.opset_import[0].version == 13, m.opset_import
    dims = [d.dim_param or d.dim_value for d in ins[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 1, 28, 28], dims
    print(f"exported {path} ({os.path.getsize(path)} bytes), onnx.checker OK, "
          f"ops: {sorted({n.op_type for n in m.graph.node})}")


def write_samples(out_dir, model, onnx_path, x_test, y_test, n=6):
    """Writes ~n correctly classified test images as PNG, one also as RGB JPEG 112x112."""
    from PIL import Image

    sdir = os.path.join(out_dir, "samples")
    os.makedirs(sdir, exist_ok=True)
    runner = eval_onnx.OnnxTorchRunner(onnx_path)

    def onnx_pred(pix):  # pix: uint8 [28,28]
        return int(runner.run({"input": eval_onnx.preprocess(pix[None])})[0].argmax(1)[0])

    eager = predict(model, torch.from_numpy(x_test).unsqueeze(1)).argmax(1).numpy()
    chosen, seen = [], set()
    for i in range(len(y_test)):  # first correctly classified image of each new class, in test order
        c = int(y_test[i])
        if c in seen or eager[i] != c:
            continue
        seen.add(c)
        chosen.append(i)
        if len(chosen) == n:
            break

    expected = {}
    for i in chosen:
        c = int(y_test[i])
        name = f"{i}-{slug(LABELS[c])}.png"
        Image.fromarray(x_test[i], mode="L").save(os.path.join(sdir, name), optimize=True)
        back = np.asarray(Image.open(os.path.join(sdir, name)))
        assert back.shape == (28, 28) and back.dtype == np.uint8 and (back == x_test[i]).all()
        assert onnx_pred(back) == c, name
        expected[name] = {"index": c, "label": LABELS[c], "test_index": i}

    # One of them (the first: test image 0, an ankle boot) as a 112x112 RGB JPEG,
    # so that the server's resize + colour conversion gets exercised.
    i = chosen[0]
    c = int(y_test[i])
    name = f"{slug(LABELS[c])}-rgb.jpg"
    big = Image.fromarray(x_test[i], mode="L").resize((112, 112), Image.BICUBIC).convert("RGB")
    big.save(os.path.join(sdir, name), quality=95)
    back = Image.open(os.path.join(sdir, name))
    assert back.mode == "RGB" and back.size == (112, 112)
    for method in (Image.BILINEAR, Image.NEAREST, Image.BICUBIC, Image.BOX):
        small = np.asarray(back.convert("L").resize((28, 28), method))
        assert onnx_pred(small) == c, f"{name} misclassified after resize method {method}"
    expected[name] = {"index": c, "label": LABELS[c], "test_index": i}

    with open(os.path.join(sdir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")
    for k, v in expected.items():
        print(f"sample {k}: {v['index']} {v['label']}")
    return expected


def main():
    ap = argparse.ArgumentParser(description="Train the Fashion-MNIST CNN and export it to ONNX.")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--out-dir", default=HERE)
    ap.add_argument("--data-dir", default=DEFAULT_DATA)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=4e-3, help="peak OneCycle learning rate (AdamW)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    t0 = time.time()
    torch.set_num_threads(args.threads)
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)

    x_train, y_train = eval_onnx.load_split(args.data_dir, "train")
    x_test, y_test = eval_onnx.load_split(args.data_dir, "t10k")
    print(f"train {x_train.shape} test {x_test.shape}, "
          f"train mean/std {x_train.mean() / 255:.4f}/{x_train.std() / 255:.4f} (contract {MEAN}/{STD})")
    xtr = torch.from_numpy(x_train).unsqueeze(1)  # uint8 [N,1,28,28]
    ytr = torch.from_numpy(y_train)
    xte = torch.from_numpy(x_test).unsqueeze(1)
    yte = torch.from_numpy(y_test)

    model = FashionCNN()
    params = sum(p.numel() for p in model.parameters())
    macs = count_macs(model)
    print(f"model: {params} parameters, {macs / 1e6:.2f}M multiply-adds per image")

    steps = (len(xtr) + args.batch_size - 1) // args.batch_size
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps)

    acc = 0.0
    for epoch in range(1, args.epochs + 1):
        te = time.time()
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        tot_loss, tot_ok, seen = 0.0, 0, 0
        for s in range(steps):
            idx = perm[s * args.batch_size:(s + 1) * args.batch_size]
            xb = normalize(augment(xtr[idx], gen))
            yb = ytr[idx]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot_loss += loss.item() * len(idx)
            tot_ok += (logits.argmax(1) == yb).sum().item()
            seen += len(idx)
        acc = (predict(model, xte).argmax(1) == yte).float().mean().item()
        print(f"epoch {epoch:2d}/{args.epochs}  loss {tot_loss / seen:.4f}  train acc {tot_ok / seen * 100:.2f}%  "
              f"test acc {acc * 100:.2f}%  ({time.time() - te:.0f}s)", flush=True)
    train_s = time.time() - t0
    print(f"final test accuracy: {acc * 100:.2f}% (training took {train_s / 60:.1f} min)")

    # Export (eval mode; nothing folded by hand) and check the exported file.
    model.eval()
    onnx_path = os.path.join(args.out_dir, "1", "model.onnx")
    export_onnx(model, onnx_path)
    onnx_acc, onnx_logits = eval_onnx.evaluate(onnx_path, x_test, y_test)
    eager_logits = predict(model, xte).numpy()
    diff = float(np.abs(onnx_logits - eager_logits).max())
    print(f"ONNX (torch-based interpreter) test accuracy {onnx_acc * 100:.2f}%, max |ONNX - eager| = {diff:.2e}")
    assert diff < 1e-3 and abs(onnx_acc - acc) < 1e-3, "exported ONNX disagrees with the eager model"
    ort = eval_onnx.onnxruntime_logits(onnx_path, normalize(xte[:256]).numpy())
    if ort is None:
        ort_diff = None
        print("onnxruntime not importable; skipped the onnxruntime vs eager comparison")
    else:
        ort_diff = float(np.abs(ort - eager_logits[:256]).max())
        print(f"onnxruntime vs eager: max |diff| = {ort_diff:.2e}")
        assert ort_diff < 1e-3, "onnxruntime disagrees with the eager model"

    expected = write_samples(args.out_dir, model, onnx_path, x_test, y_test)

    metrics = {
        "test_accuracy": round(acc, 4),
        "test_images": int(len(y_test)),
        "onnx_test_accuracy": round(onnx_acc, 4),
        "onnx_vs_eager_max_abs_diff": diff,
        "onnxruntime_vs_eager_max_abs_diff": ort_diff,
        "params": int(params),
        "macs_per_image": macs,
        "onnx_bytes": os.path.getsize(onnx_path),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "max_lr": args.lr,
        "seed": SEED,
        "train_seconds": round(train_s, 1),
        "threads": args.threads,
        "preprocessing": {"scale": 1 / 255, "mean": MEAN, "std": STD, "layout": "NCHW", "color": "gray"},
        "samples": sorted(expected),
        "torch_version": torch.__version__,
        "onnx_version": onnx.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "opset": 13,
        "date": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
    }
    with open(os.path.join(args.out_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    print(f"wrote {os.path.join(args.out_dir, 'metrics.json')}; total {(time.time() - t0) / 60:.1f} min")


if __name__ == "__main__":
    main()
