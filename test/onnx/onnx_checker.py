"""onnx.checker as the reference for `ferry check`: checks each .onnx path read from stdin (one per
line) with onnx.checker.check_model(path) — the path form, so external data resolves against the
model's folder — and prints one JSON object: the onnx version and, per path, null (accepted) or
the checker's first error line. Run with the onnx .ci/run installs (see onnx-reference.mjs).
"""
import json
import os
import sys

import onnx

# the checker's C++ prints warnings (experimental ops) on stdout: keep them off the JSON
out = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
verdicts = {}
for line in sys.stdin:
    path = line.strip()
    if not path:
        continue
    try:
        onnx.checker.check_model(path)
        verdicts[path] = None
    except Exception as e:  # ValidationError, and what onnx raises on files it cannot parse
        verdicts[path] = (str(e).strip().splitlines() or [type(e).__name__])[0]
json.dump({"onnx": onnx.__version__, "verdicts": verdicts}, out)
out.close()
