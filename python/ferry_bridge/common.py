"""Loading models, naming inputs and outputs, making inputs, measuring differences."""
import importlib.util
import inspect
import os
import sys
import time

import numpy as np
import torch

from ferry_bridge.cli import UsageError, wrap_user

#: Default tolerance of the parity check (`|a - b| <= atol + rtol * |b|`, like numpy.allclose).
PARITY_ATOL, PARITY_RTOL = 1e-4, 1e-3

DTYPES = {
    "float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
    "int64": torch.int64, "int32": torch.int32, "int16": torch.int16, "int8": torch.int8,
    "uint8": torch.uint8, "bool": torch.bool,
}


def split_factory(spec):
    """`path/to/module.py:factory` -> (path, factory). The factory may be dotted (`Class.build`)."""
    path, sep, factory = spec.rpartition(":")
    if not sep or not path or not factory:
        raise UsageError(f"{spec!r} is not MODULE.py:FACTORY (a Python file, a colon, a function name)")
    if not os.path.isfile(path):
        raise UsageError(f"{spec}: no such file {path!r}")
    return path, factory


def is_factory_spec(spec):
    return spec.rpartition(":")[0].endswith(".py")


def load_factory(spec, seed=0):
    """Imports MODULE.py from its path, seeds torch, calls FACTORY() and returns the module in eval mode.

    torch is seeded with `seed` just before the call, so a factory that builds random weights
    builds the same ones in every bridge process (export, then compare, see the same model).
    """
    path, factory = split_factory(spec)
    path = os.path.abspath(path)
    name = "ferry_user_" + "".join(c if c.isalnum() else "_" for c in os.path.splitext(os.path.basename(path))[0])
    with wrap_user(f"importing {spec.rpartition(':')[0]}"):
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot import {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.path.insert(0, os.path.dirname(path))  # let the module import its neighbours
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
    target = module
    for part in factory.split("."):
        if not hasattr(target, part):
            raise UsageError(f"{spec}: {os.path.basename(path)} has no attribute {part!r}")
        target = getattr(target, part)
    if not callable(target):
        raise UsageError(f"{spec}: {factory} is not callable")
    torch.manual_seed(seed)
    with wrap_user(f"calling {spec}()"):
        model = target()
    if not isinstance(model, torch.nn.Module):
        raise UsageError(f"{spec}() returned {type(model).__name__}, not a torch.nn.Module")
    model.eval()
    return model


def load_model(spec, seed=0):
    """A TorchScript file or MODULE.py:FACTORY -> (module, kind)."""
    if is_factory_spec(spec):
        return load_factory(spec, seed), "pytorch"
    if not os.path.isfile(spec):
        raise UsageError(f"{spec}: no such file (expected a TorchScript .pt/.zip or MODULE.py:FACTORY)")
    with wrap_user(f"loading TorchScript {spec}"):
        model = torch.jit.load(spec, map_location="cpu")
    model.eval()
    return model, "torchscript"


def input_names(model, count=None):
    """Names of forward()'s positional parameters: the ONNX input names and the .npz keys."""
    names = []
    if isinstance(model, torch.jit.ScriptModule):
        try:
            names = [a.name for a in model.forward.schema.arguments][1:]
        except Exception:  # noqa: BLE001 - schema missing on odd modules
            names = []
    else:
        try:
            params = inspect.signature(model.forward).parameters.values()
            kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            for p in params:
                if p.kind in kinds:
                    names.append(p.name)
                elif p.kind == inspect.Parameter.VAR_POSITIONAL:
                    names = names + [f"input_{i}" for i in range(len(names), count or len(names))]
                    break
        except (TypeError, ValueError):
            names = []
    if count is not None:
        if len(names) < count:
            names = names + [f"input_{i}" for i in range(len(names), count)]
        names = names[:count]
    return names


def flatten_outputs(out, prefix="output"):
    """Model outputs -> [(name, tensor)]: a tensor is `output`, a tuple/list `output_0`..., a dict its keys."""
    if isinstance(out, torch.Tensor):
        return [(prefix, out)]
    if isinstance(out, dict):
        items = []
        for key, value in out.items():
            items += flatten_outputs(value, str(key)) if not isinstance(value, torch.Tensor) else [(str(key), value)]
        return items
    if isinstance(out, (tuple, list)):
        items = []
        for i, value in enumerate(out):
            items += flatten_outputs(value, f"{prefix}_{i}")
        return items
    return []  # None, ints, strings: not tensors, not compared


def make_inputs(specs, seed, transform=None):
    """Random inputs: standard normal for floats, integers in [0, 10) for ints, 0/1 for bool."""
    gen = torch.Generator().manual_seed(seed)
    tensors = []
    for shape, dtype in specs:
        if dtype not in DTYPES:
            raise UsageError(f"input dtype {dtype!r} is not one of {', '.join(DTYPES)}")
        td = DTYPES[dtype]
        if td.is_floating_point:
            t = torch.randn(shape, generator=gen, dtype=torch.float32)
            if transform is not None:
                t = transform(t)
            t = t.to(td)
        elif td == torch.bool:
            t = torch.randint(0, 2, shape, generator=gen).to(torch.bool)
        else:
            t = torch.randint(0, 10, shape, generator=gen).to(td)
        tensors.append(t)
    return tensors


#: The inputs the trace check runs: label, seed offset, transform of a standard normal sample.
#: Sign flips and scales push sums, norms and comparisons to both sides of zero and of thresholds.
TRACE_CHECK_VARIANTS = [
    ("x", 0, None),
    ("-x", 0, lambda t: -t),
    ("0.1*x", 0, lambda t: 0.1 * t),
    ("10*|x|", 0, lambda t: 10 * t.abs()),
    ("-10*|x|", 0, lambda t: -10 * t.abs()),
    ("fresh x'", 1, None),
    ("x'+1", 1, lambda t: t + 1),
    ("x'-1", 1, lambda t: t - 1),
]


def run_model(model, inputs):
    with torch.no_grad():
        return flatten_outputs(model(*inputs))


def diff_stats(actual, expected):
    """Max abs and max rel difference of two tensors, and whether they are allclose at the parity tolerance."""
    a = actual.detach().to(torch.float64).cpu()
    b = expected.detach().to(torch.float64).cpu()
    if a.shape != b.shape:
        return {"max_abs": None, "max_rel": None, "pass": False,
                "note": f"shape {list(a.shape)} vs eager {list(b.shape)}"}
    if a.numel() == 0:
        return {"max_abs": 0.0, "max_rel": 0.0, "pass": True}
    err = (a - b).abs()
    both_nan = torch.isnan(a) & torch.isnan(b)
    err = torch.where(both_nan, torch.zeros_like(err), err)
    rel = err / b.abs().clamp_min(1e-12)
    ok = bool(((err <= PARITY_ATOL + PARITY_RTOL * b.abs()) | both_nan).all())
    return {"max_abs": float(err.max()), "max_rel": float(rel.max()), "pass": ok}


def to_numpy(t):
    return t.detach().cpu().contiguous().numpy()


def save_npz(path, named):
    """[(name, tensor or ndarray)] -> an uncompressed .npz (ferry's TypeScript side reads it)."""
    arrays = {name: (to_numpy(v) if isinstance(v, torch.Tensor) else v) for name, v in named}
    np.savez(path, **arrays)


class Timer:
    def __init__(self):
        self.t0 = time.perf_counter()

    def lap(self):
        t = time.perf_counter()
        dt, self.t0 = t - self.t0, t
        return dt

