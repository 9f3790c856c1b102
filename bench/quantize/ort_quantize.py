#!/usr/bin/env python3
"""onnxruntime's quantizer on the same model and calibration data as `ferry quantize`: the peer
bench/quantize/run.mjs measures ferry against. Needs PyPI's onnxruntime and an onnx new enough for
it (onnxruntime 1.32's quantizer imports onnx.reference: onnx >= 1.13; Debian 12 has 1.12), e.g.
a venv of its own: python3 -m venv --system-site-packages /tmp/ortq && /tmp/ortq/bin/pip install
onnxruntime==1.32.0 'onnx>=1.16', then --python /tmp/ortq/bin/python.

    .venv/bin/python bench/quantize/ort_quantize.py IN.onnx OUT.onnx --calib calib.npz [--method minmax]
        [--per-channel] [--dynamic] [--fp16] [--preprocess] [--reduce-range]

--calib: an .npz whose arrays are named after the model inputs (or x), first axis = samples.
Static: QDQ, activations uint8, weights int8 (onnxruntime's defaults for x86 are QInt8/QInt8;
uint8 activations are what fuse on x86, as for ferry). --fp16 uses onnxruntime.transformers.float16
(onnxconverter-common's converter, keep_io_types=True). Prints one JSON line with what it did.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--calib")
    ap.add_argument("--method", default="minmax", choices=["minmax", "entropy", "percentile"])
    ap.add_argument("--per-channel", action="store_true")
    ap.add_argument("--dynamic", action="store_true")
    ap.add_argument("--fp16", action="store_true")
    ap.add_argument("--preprocess", action="store_true", help="run quant_pre_process (shape inference + ORT basic optimization) first")
    ap.add_argument("--reduce-range", action="store_true", help="7-bit weights: onnxruntime's advice for x86 without VNNI")
    ap.add_argument("--batch", type=int, default=8)
    a = ap.parse_args()
    t0 = time.time()
    src = a.src
    if a.fp16:
        from onnxruntime.transformers.float16 import convert_float_to_float16
        m = convert_float_to_float16(onnx.load(src), keep_io_types=True)
        onnx.save(m, a.dst)
        print(json.dumps({"tool": "onnxruntime.transformers.float16", "version": ort.__version__, "seconds": time.time() - t0}))
        return
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_dynamic, quantize_static)
    tmp = tempfile.mkdtemp()
    if a.preprocess:
        from onnxruntime.quantization.shape_inference import quant_pre_process
        pre = os.path.join(tmp, "pre.onnx")
        quant_pre_process(src, pre, skip_symbolic_shape=True)
        src = pre
    upgraded = None
    if a.per_channel and not a.dynamic:
        # Per-channel DequantizeLinear (axis) is opset 13: onnxruntime's quantizer writes it into older
        # models anyway (PaddleOCR's are opset 11), which then load nowhere. Upgrade first, as its docs advise.
        m = onnx.load(src)
        opset = next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), 0)
        if opset < 13:
            from onnx import version_converter
            up = os.path.join(tmp, "opset13.onnx")
            onnx.save(version_converter.convert_version(m, 13), up)
            src, upgraded = up, opset
    if a.dynamic:
        quantize_dynamic(src, a.dst, weight_type=QuantType.QInt8, per_channel=a.per_channel, reduce_range=a.reduce_range)
        print(json.dumps({"tool": "onnxruntime.quantization.quantize_dynamic", "version": ort.__version__, "preprocess": a.preprocess,
                          "reduce_range": a.reduce_range, "seconds": time.time() - t0}))
        return
    data = np.load(a.calib)
    names = [i.name for i in ort.InferenceSession(src, providers=["CPUExecutionProvider"]).get_inputs()]
    arrays = {n: data[n] if n in data.files else data["x"] for n in names}
    count = len(next(iter(arrays.values())))

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.i = 0

        def get_next(self):
            if self.i >= count:
                return None
            batch = {n: v[self.i:self.i + a.batch] for n, v in arrays.items()}
            self.i += a.batch
            return batch

    method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy, "percentile": CalibrationMethod.Percentile}[a.method]
    quantize_static(src, a.dst, Reader(), quant_format=QuantFormat.QDQ, per_channel=a.per_channel,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, calibrate_method=method, reduce_range=a.reduce_range)
    print(json.dumps({"tool": "onnxruntime.quantization.quantize_static", "version": ort.__version__, "samples": int(count),
                      "method": a.method, "per_channel": a.per_channel, "preprocess": a.preprocess, "reduce_range": a.reduce_range,
                      "upgraded_from_opset": upgraded,
                      "seconds": time.time() - t0}))


if __name__ == "__main__":
    sys.exit(main())
