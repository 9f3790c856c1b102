"""`run`: a TorchScript file or MODULE.py:FACTORY on .npz inputs, outputs to .npz (for `ferry compare`).

Inputs are passed positionally in the .npz's order, or by forward()'s parameter order when the
.npz keys are exactly those names. Outputs are named as `export` names them (`output`,
`output_0`..., or a returned dict's keys), so an exported ONNX model and its factory line up.
"""
import time

import numpy as np
import torch

from ferry_bridge.cli import UsageError, say, wrap_user
from ferry_bridge.common import flatten_outputs, input_names, load_model, save_npz

UNSUPPORTED = {np.dtype("uint16"), np.dtype("uint32"), np.dtype("uint64")}


def _load_inputs(path, names):
    with np.load(path, allow_pickle=False) as npz:
        keys = list(npz.files)
        arrays = {k: npz[k] for k in keys}
    if names and set(keys) == set(names[: len(keys)]):
        keys = [n for n in names if n in arrays]
    tensors = []
    for k in keys:
        a = arrays[k]
        if a.dtype in UNSUPPORTED:
            raise UsageError(f"{path}: input {k!r} is {a.dtype}, which torch {torch.__version__} cannot hold")
        tensors.append(torch.from_numpy(np.ascontiguousarray(a)))
    return keys, tensors


def run(args):
    if len(args.inputs) != len(args.outputs):
        raise UsageError("give one --outputs per --inputs")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model, kind = load_model(args.model, args.seed)
    load_s = time.perf_counter() - t0
    say(f"loaded {args.model} ({kind}) in {load_s:.2f} s")
    runs = []
    warm = False
    for in_path, out_path in zip(args.inputs, args.outputs):
        names = input_names(model)
        keys, tensors = _load_inputs(in_path, names)
        with wrap_user(f"running {args.model} on {[list(t.shape) for t in tensors]}"):
            if not warm:  # one untimed run: TorchScript's profiling executor optimizes on the first calls
                with torch.no_grad():
                    model(*tensors)
                warm = True
            t = time.perf_counter()
            with torch.no_grad():
                out = model(*tensors)
            ms = (time.perf_counter() - t) * 1000
        named = flatten_outputs(out)
        if not named:
            raise UsageError(f"{args.model}: forward() returned no tensors ({type(out).__name__})")
        save_npz(out_path, named)
        runs.append({"inputs": keys, "outputs": [{"name": n, "shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", "")}
                                                 for n, v in named], "ms": ms})
    return {"kind": kind, "load_s": load_s, "runs": runs, "threads": torch.get_num_threads()}
