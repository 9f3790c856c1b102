"""python -m ferry_ncnn JOB.json: run an ncnn model on .npz inputs, write .npz outputs.

JOB.json:
  {"param": "m.param", "bin": "m.bin", "threads": 2, "fp16": false,
   "inputs":  [{"name": "x", "blob": "x", "ncnn_shape": [3, 224, 224]}],
   "outputs": [{"name": "y", "blob": "y", "shape": [1, 1000]}],
   "trials":  [{"in": "in_0.npz", "out": "out_0.npz", "stacked": false}],
   "bench_runs": 0}

Inputs are read by name from each trial's .npz (with their batch axis; it is dropped to the
ncnn dims), outputs written by name with their ONNX dims. A "stacked" trial holds many samples
along the first axis: each runs alone, the outputs are stacked the same way. One JSON line on stdout:
{"ok": true, "result": {...}} or {"ok": false, "error": {"kind": ..., "message": ...}}.
"""
import json
import sys
import time


def fail(kind, message):
    print(json.dumps({"ok": False, "error": {"kind": kind, "message": message}}))
    sys.exit(1)


def main():
    try:
        import numpy as np
        import ncnn
    except ImportError as e:
        fail("ncnn_missing", str(e))
    with open(sys.argv[1]) as f:
        job = json.load(f)
    net = ncnn.Net()
    opt = net.opt
    opt.num_threads = int(job.get("threads", 1))
    fp16 = bool(job.get("fp16", False))
    opt.use_fp16_storage = fp16
    opt.use_fp16_packed = fp16
    opt.use_fp16_arithmetic = fp16
    if net.load_param(job["param"]) != 0:
        fail("load", f"ncnn cannot read {job['param']} (load_param failed)")
    if net.load_model(job["bin"]) != 0:
        fail("load", f"ncnn cannot read {job['bin']} with {job['param']} (load_model failed: the .bin is shorter or longer than the layers need)")

    def run(arrays):
        ex = net.create_extractor()
        for i in job["inputs"]:
            a = np.ascontiguousarray(arrays[i["name"]], dtype=np.float32).reshape(i["ncnn_shape"])
            if ex.input(i["blob"], ncnn.Mat(a)) != 0:
                fail("run", f"ncnn refused input blob {i['blob']}")
        out = {}
        for o in job["outputs"]:
            r, m = ex.extract(o["blob"])
            if r != 0:
                fail("run", f"ncnn failed extracting {o['blob']} (code {r})")
            a = np.array(m)
            size = int(np.prod(o["shape"]))
            if a.size != size:
                fail("run", f"ncnn output {o['blob']} has {a.size} elements ({list(a.shape)}); the ONNX output {o['name']} has {size} {o['shape']}")
            out[o["name"]] = a.reshape(o["shape"]).astype(np.float32)
        return out

    runs = []
    first = None
    for t in job.get("trials", []):
        data = np.load(t["in"])
        arrays = {k: data[k] for k in data.files}
        if first is None:
            first = {k: v[:1] for k, v in arrays.items()} if t.get("stacked") else arrays
            run(first)  # warm-up (weights are packed on the first run)
        if t.get("stacked"):
            # the first axis holds samples: one run each, outputs stacked the same way
            n = next(iter(arrays.values())).shape[0]
            outs = []
            t0 = time.perf_counter()
            for i in range(n):
                outs.append(run({k: v[i:i + 1] for k, v in arrays.items()}))
            runs.append({"ms": (time.perf_counter() - t0) * 1000 / max(1, n)})
            out = {o["name"]: np.concatenate([r[o["name"]] for r in outs]) for o in job["outputs"]}
        else:
            t0 = time.perf_counter()
            out = run(arrays)
            runs.append({"ms": (time.perf_counter() - t0) * 1000})
        np.savez(t["out"], **out)
    bench = None
    n = int(job.get("bench_runs", 0))
    if n and first is not None:
        for _ in range(2):
            run(first)
        t0 = time.perf_counter()
        for _ in range(n):
            run(first)
        bench = (time.perf_counter() - t0) * 1000 / n
    print(json.dumps({"ok": True, "result": {"ncnn_version": getattr(ncnn, "__version__", "?"), "python": sys.executable, "runs": runs, "bench_ms": bench}}))


if __name__ == "__main__":
    main()
