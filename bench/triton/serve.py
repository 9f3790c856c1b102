#!/usr/bin/env python3
"""NVIDIA Triton itself, as the peer ferry is measured against: PyPI's nvidia-pytriton runs Triton's
HTTP server and dynamic batcher, with a Python backend that runs the same ONNX file in one
onnxruntime session (intra-op threads 1, as ferry serves the Fashion model). Clients speak KServe v2
to it exactly as to ferry.

    python3 -m venv --system-site-packages .venv-triton
    .venv-triton/bin/pip install nvidia-pytriton==0.7.0 onnxruntime==1.32.0
    .venv-triton/bin/python bench/triton/serve.py --model examples/fashion/1/model.onnx --name fashion --port 8010

Prints "ready <port>" on stdout once it serves.
"""
import argparse
import sys

import numpy as np
import onnxruntime as ort
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--name", default="fashion")
    ap.add_argument("--port", type=int, default=8010)
    ap.add_argument("--max-batch-size", type=int, default=64)
    ap.add_argument("--max-queue-delay-us", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    session = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
    inp, out = session.get_inputs()[0], session.get_outputs()[0]

    @batch
    def infer(**inputs):
        return {out.name: session.run([out.name], {inp.name: inputs[inp.name]})[0]}

    config = TritonConfig(http_port=args.port, grpc_port=args.port + 1, metrics_port=args.port + 2, log_verbose=0)
    with Triton(config=config) as triton:
        triton.bind(
            model_name=args.name,
            infer_func=infer,
            inputs=[Tensor(name=inp.name, dtype=np.float32, shape=tuple(inp.shape[1:]))],
            outputs=[Tensor(name=out.name, dtype=np.float32, shape=tuple(out.shape[1:]))],
            config=ModelConfig(max_batch_size=args.max_batch_size, batcher=DynamicBatcher(max_queue_delay_microseconds=args.max_queue_delay_us)),
            strict=True,
        )
        print(f"ready {args.port}", flush=True)
        sys.stdout.flush()
        triton.serve()


if __name__ == "__main__":
    main()
