"""Command line and result protocol of the bridge.

stdout carries one JSON line, written last: `{"ok": true, "result": ...}` or
`{"ok": false, "error": {"kind", "message", ...}}`. Everything else (progress, the user's own
prints, warnings, tracebacks) goes to stderr: sys.stdout is pointed at stderr while we work, so a
model that prints cannot corrupt the result. Exit status: 0 ok, 1 error, 3 torch/numpy missing,
2 usage.
"""
import argparse
import json
import math
import sys
import traceback

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NO_TORCH = 0, 1, 2, 3


class BridgeError(Exception):
    """An error with a stable `kind` the TypeScript side maps to a FerryError code."""

    kind = "error"

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class UsageError(BridgeError):
    kind = "usage"


class UserCodeError(BridgeError):
    """The user's module, factory or model raised; `where` says which step."""

    kind = "python"


class TraceDiverged(BridgeError):
    """torch.jit.trace recorded one branch of data-dependent control flow."""

    kind = "trace_diverged"


def say(message):
    """One progress line on stderr."""
    sys.stderr.write(f"ferry-bridge: {message}\n")
    sys.stderr.flush()


def clean(value):
    """JSON-safe copy: NaN and infinities become None (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def summary_line(exc):
    """`Type: first non-empty line of the message` — what a traceback's last line usually shows."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def wrap_user(where):
    """Context manager turning any exception inside into a UserCodeError naming `where`."""
    return _UserStep(where)


class _UserStep:
    def __init__(self, where):
        self.where = where

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or isinstance(exc, BridgeError):
            return False
        if isinstance(exc, KeyboardInterrupt):
            return False
        sys.stderr.write("".join(traceback.format_exception(exc_type, exc, tb)))
        raise UserCodeError(
            f"{self.where}: {summary_line(exc)}",
            where=self.where,
            type=exc_type.__name__,
            last_line=summary_line(exc),
        ) from exc


def shape_arg(text):
    """`1,3,224,224` or `1,16:int64` -> (shape, dtype)."""
    dims, _, dtype = text.partition(":")
    try:
        shape = [int(d) for d in dims.split(",") if d.strip() != ""]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad shape {text!r}: expected comma-separated integers like 1,3,224,224")
    if any(d < 0 for d in shape):
        raise argparse.ArgumentTypeError(f"bad shape {text!r}: dims must be >= 0")
    return shape, (dtype or "float32")


def build_parser():
    p = argparse.ArgumentParser(prog="ferry_bridge", description="ferry's PyTorch bridge")
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("export", help="export MODULE.py:FACTORY to ONNX, TorchScript or PyTorch Lite (.ptl)")
    e.add_argument("model", help="MODULE.py:FACTORY (the factory is called with no arguments)")
    e.add_argument("--input-shape", action="append", type=shape_arg, required=True,
                   help="dims of one input, e.g. 1,3,224,224 (repeat per input; suffix :int64 etc. for non-float)")
    e.add_argument("--to", choices=["onnx", "torchscript", "ptl"], required=True)
    e.add_argument("--method", choices=["trace", "script", "auto"], default="auto")
    e.add_argument("--opset", type=int, default=13)
    e.add_argument("--dynamic-batch", action="store_true")
    e.add_argument("-o", "--output", required=True)
    e.add_argument("--parity-dir", help="write parity inputs and eager outputs here as .npz (for the caller's own engine)")
    e.add_argument("--seed", type=int, default=0, help="torch seed set before calling the factory")

    i = sub.add_parser("inspect", help="describe a TorchScript file: signature, code, parameters")
    i.add_argument("model", help="MODEL.pt / MODEL.zip (TorchScript)")

    r = sub.add_parser("run", help="run a TorchScript file or MODULE.py:FACTORY on .npz inputs")
    r.add_argument("model", help="MODEL.pt / MODEL.zip (TorchScript) or MODULE.py:FACTORY")
    r.add_argument("--inputs", action="append", required=True, help="input .npz (repeat, paired with --outputs)")
    r.add_argument("--outputs", action="append", required=True, help="where to write that run's outputs (.npz)")
    r.add_argument("--seed", type=int, default=0, help="torch seed set before calling the factory")
    r.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    return p


def main(argv):
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # the user's prints must not reach the result channel

    def emit(payload, code):
        real_stdout.write(json.dumps(clean(payload), allow_nan=False) + "\n")
        real_stdout.flush()
        return code

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse already printed its message on stderr
        if exc.code == 0:
            return EXIT_OK
        return emit({"ok": False, "error": {"kind": "usage", "message": "bad arguments (see stderr)"}}, EXIT_USAGE)

    try:
        import numpy  # noqa: F401
        import torch
    except ImportError as exc:
        return emit({"ok": False, "error": {
            "kind": "torch_missing", "message": summary_line(exc), "python": sys.executable,
            "python_version": sys.version.split()[0]}}, EXIT_NO_TORCH)

    try:
        if args.command == "export":
            from ferry_bridge.export import export
            result = export(args)
        elif args.command == "inspect":
            from ferry_bridge.inspect_ts import inspect
            result = inspect(args)
        else:
            from ferry_bridge.run import run
            result = run(args)
        result["torch_version"] = torch.__version__
        result["python"] = sys.executable
        return emit({"ok": True, "result": result}, EXIT_OK)
    except BridgeError as exc:
        return emit({"ok": False, "error": {"kind": exc.kind, "message": exc.message, **exc.details}},
                    EXIT_USAGE if exc.kind == "usage" else EXIT_ERROR)
    except Exception as exc:  # a bug in the bridge itself, or torch failing outside user code
        traceback.print_exc(file=sys.stderr)
        return emit({"ok": False, "error": {"kind": "internal", "message": summary_line(exc),
                                            "type": type(exc).__name__, "last_line": summary_line(exc)}}, EXIT_ERROR)
