"""ferry's PyTorch bridge: export a PyTorch model to ONNX or TorchScript, and run PyTorch models for
`ferry compare`. Run as `python -m ferry_bridge <command>` (with python/ on PYTHONPATH) or as
`python python/ferry_bridge <command>`.

Protocol: progress lines on stderr; exactly one JSON line on stdout at the end,
`{"ok": true, "result": {...}}` or `{"ok": false, "error": {...}}`. Needs numpy and torch;
onnx and onnxruntime are used when importable.
"""

__version__ = "0.1.0"
